"""The ``k8s`` subscription source: Function and Subscription resources, watched.

What ``eventfn bridge --source k8s`` and ``eventfn ingress --source k8s`` use in a
cluster (the manifests set ``EVENTFN_SOURCE=k8s``; entry point ``k8s`` of
``eventfn.sources``, see :mod:`broker_bridge.sources`)::

    source = ClusterSource(api_client, "eventfn")
    threading.Thread(target=source.watch, args=(bridge.request_reload, stop)).start()
    source.table()          # every valid subscription to a known Function
    source.has_function("resize-image")

The functions are the Function resources of the namespace. The table holds every
Subscription resource (by name) whose function is a Function (``eventfn manifests``
renders a function's ``subscribe=[...]`` as one Subscription). A Subscription whose
filters do not compile, or that names no Function, is left out and logged once per
resource version; the others keep routing. Both kinds are listed and watched with a periodic resync
(:func:`k8s.client.watch_objects`); each change calls ``on_change``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from kubernetes import client
from pydantic import ValidationError

from broker_bridge.sources import SourceOptions
from broker_bridge.subscriptions import Subscription, SubscriptionTable
from k8s.client import FUNCTIONS, SUBSCRIPTIONS, Kind, watch_objects
from k8s.kubeconfig import api_client

__all__ = ["ClusterSource", "subscription_from_resource", "table_from_resources"]

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
    *,
    functions: Mapping[str, Mapping[str, Any]] | None = None,
) -> SubscriptionTable:
    """The table of every valid resource (by name); invalid ones are skipped and passed
    to ``on_invalid(resource, problem)``. With ``functions`` (Function resources by
    name), Subscriptions to other names are invalid too."""
    subscriptions: list[Subscription] = []
    for name in sorted(resources):
        resource = resources[name]
        try:
            subscription = subscription_from_resource(resource)
        except (ValidationError, ValueError) as exc:
            if on_invalid is not None:
                on_invalid(resource, str(exc))
            continue
        if functions is not None and subscription.function not in functions:
            if on_invalid is not None:
                on_invalid(resource, f"no Function named {subscription.function!r}")
            continue
        subscriptions.append(subscription)
    return SubscriptionTable(subscriptions=subscriptions)


class ClusterSource:
    """Function and Subscription resources of one namespace, kept current by watches."""

    def __init__(
        self,
        api: client.ApiClient,
        namespace: str,
        *,
        with_subscriptions: bool = True,
        resync_seconds: float = 300.0,
        watch_timeout: int = 60,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.with_subscriptions = with_subscriptions
        self.resync_seconds = resync_seconds
        self.watch_timeout = watch_timeout
        self._lock = threading.Lock()
        self._objects: dict[str, dict[str, dict[str, Any]]] = {}
        self._listed: set[str] = set()
        self._reported: set[tuple[str, str, str]] = set()

    @classmethod
    def from_options(cls, options: SourceOptions) -> ClusterSource:
        return cls(
            api_client(options.kubeconfig),
            options.namespace,
            with_subscriptions=options.needs == "routing",
        )

    def _kinds(self) -> list[Kind]:
        return [FUNCTIONS, SUBSCRIPTIONS] if self.with_subscriptions else [FUNCTIONS]

    # -- what the bridge and the ingress ask -----------------------------------------
    def table(self) -> SubscriptionTable:
        with self._lock:
            functions = dict(self._objects.get(FUNCTIONS.plural, {}))
            resources = dict(self._objects.get(SUBSCRIPTIONS.plural, {}))
        return table_from_resources(resources, self._invalid, functions=functions)

    def functions(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._objects.get(FUNCTIONS.plural, {}))

    def has_function(self, name: str) -> bool:
        return name in self.functions()

    def ready(self) -> bool:
        with self._lock:
            return all(kind.plural in self._listed for kind in self._kinds())

    def wait_ready(self, timeout: float) -> bool:
        """Wait until every kind has been listed once (or ``timeout`` s)."""
        deadline = threading.Event()
        waited = 0.0
        while not self.ready() and waited < timeout:
            deadline.wait(0.05)
            waited += 0.05
        return self.ready()

    # -- the watches ---------------------------------------------------------------------
    def watch(self, on_change: Callable[[], None], stop: threading.Event) -> None:
        """One watch thread per kind; returns when ``stop`` is set."""
        threads = [
            threading.Thread(
                target=self._watch_kind,
                args=(kind, on_change, stop),
                name=f"eventfn-watch-{kind.plural}",
                daemon=True,
            )
            for kind in self._kinds()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _watch_kind(self, kind: Kind, on_change: Callable[[], None], stop: threading.Event) -> None:
        for change in watch_objects(
            self.api,
            kind,
            self.namespace,
            stop,
            resync_seconds=self.resync_seconds,
            watch_timeout=self.watch_timeout,
        ):
            with self._lock:
                changed = self._objects.get(kind.plural) != change.objects
                self._objects[kind.plural] = change.objects
                first = kind.plural not in self._listed
                self._listed.add(kind.plural)
            if changed or first:
                log.info("resources changed", kind=kind.kind, change=change.type, name=change.name)
                on_change()

    def _invalid(self, resource: Mapping[str, Any], problem: str) -> None:
        meta = resource.get("metadata") or {}
        key = (str(resource.get("kind")), str(meta.get("name")), str(meta.get("resourceVersion")))
        if key not in self._reported:  # once per version of the resource, not per table
            self._reported.add(key)
            log.warning("subscription skipped", resource=f"{key[0]}/{key[1]}", error=problem)
