"""The bridge's subscription table from Subscription resources (cluster mode).

Public API (the lead wires it into ``eventfn bridge --subscriptions k8s``)::

    for table in subscription_tables(api_client, "eventfn", stop_event):
        router.replace(table)            # a SubscriptionTable after every change

Lists and watches ``subscriptions.eventfn.io`` with a periodic resync
(:func:`k8s.client.watch_objects`) and yields a complete, validated
:class:`broker_bridge.subscriptions.SubscriptionTable` after each change (and after each
resync). A Subscription whose filters do not compile is left out and logged (the
others keep routing); tables are ordered by resource name so they are stable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import structlog
from kubernetes import client
from pydantic import ValidationError

from broker_bridge.subscriptions import Subscription, SubscriptionTable
from k8s.client import SUBSCRIPTIONS, watch_objects

__all__ = ["subscription_from_resource", "subscription_tables", "table_from_resources"]

log = structlog.get_logger("eventfn.k8s.subscriptions")


def subscription_from_resource(resource: Mapping[str, Any]) -> Subscription:
    """One Subscription resource -> a compiled :class:`Subscription` (raises
    ``pydantic.ValidationError`` or ``ValueError`` naming the problem)."""
    spec = resource.get("spec") or {}
    return Subscription(
        name=resource["metadata"]["name"],
        function=spec.get("function", ""),
        filters=list(spec.get("filters") or []),
    )


def table_from_resources(
    resources: Mapping[str, Mapping[str, Any]],
    on_invalid: Callable[[Mapping[str, Any], str], None] | None = None,
) -> SubscriptionTable:
    """The table of every valid resource (by name); invalid ones are skipped and passed
    to ``on_invalid(resource, problem)``."""
    subscriptions = []
    for name in sorted(resources):
        try:
            subscriptions.append(subscription_from_resource(resources[name]))
        except (ValidationError, ValueError) as exc:
            if on_invalid is not None:
                on_invalid(resources[name], str(exc))
    return SubscriptionTable(subscriptions=subscriptions)


def subscription_tables(
    api: client.ApiClient,
    namespace: str,
    stop: threading.Event,
    *,
    resync_seconds: float = 300.0,
    watch_timeout: int = 60,
) -> Iterator[SubscriptionTable]:
    """A fresh table after the initial list and after every change, until ``stop``."""
    reported: set[tuple[str, str]] = set()

    def invalid(resource: Mapping[str, Any], problem: str) -> None:
        meta = resource.get("metadata") or {}
        key = (str(meta.get("name")), str(meta.get("resourceVersion")))
        if key not in reported:  # once per version of the resource, not per table
            reported.add(key)
            log.warning("invalid Subscription skipped", subscription=key[0], error=problem)

    for change in watch_objects(
        api,
        SUBSCRIPTIONS,
        namespace,
        stop,
        resync_seconds=resync_seconds,
        watch_timeout=watch_timeout,
    ):
        yield table_from_resources(change.objects, invalid)
