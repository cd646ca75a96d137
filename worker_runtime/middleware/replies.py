"""Replies: events a handler returns are published to the bridge's input queue.

A handler may return None, one event, or a list; an event is a CloudEvent or a
mapping of attributes plus ``data``. Defaults filled in: ``source``
(``eventfn://functions/NAME``), ``specversion``, and an ``id`` derived from the
input event and the reply's position, so a reply published again after a crash
(at least once) has the same (source, id) and dedupes downstream. Each reply's
``traceparent`` is its ``publish`` span's, a child of the worker's ``process`` span,
unless the handler set one;
``eventfnhops`` is the input's plus one (the bridge drops runaway loops).
The replies are published (and confirmed) before the input is acked; a reply that
cannot fit the broker's limits fails the call for good (none is published, the
input is dead-lettered with the reason).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from broker_bridge import topology
from broker_bridge.event import StrictCloudEvent, check_event, has_data, new_event
from broker_bridge.invalid import InvalidEventError
from broker_bridge.limits import MessageTooLarge
from broker_bridge.tracing import publish_spans
from worker_runtime.context import Invocation, Outcome, Result
from worker_runtime.errors import PermanentError
from worker_runtime.middleware.base import Middleware, Next
from worker_runtime.ports import Outbox

__all__ = ["HOPS_EXTENSION", "InvalidReply", "Replies", "build_replies", "function_source"]

HOPS_EXTENSION = "eventfnhops"
_REPLY_NAMESPACE = uuid.UUID("5f0b8f3e-2a43-4f0e-9d7c-8b1f7f3f6e21")


class InvalidReply(PermanentError, ValueError):
    """A handler returned something that is not a valid event (or list of events)."""


def function_source(function: str) -> str:
    """The default ``source`` of a function's replies."""
    return f"eventfn://functions/{function}"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, Mapping) or _is_event(value):
        return [value]
    if isinstance(value, list | tuple):
        return list(value)
    raise InvalidReply(
        f"a handler returns None, an event or a list of events, not {type(value).__name__}"
    )


def _is_event(value: Any) -> bool:
    return callable(getattr(value, "get_attributes", None)) and callable(
        getattr(value, "get_data", None)
    )


def _parts(item: Any) -> tuple[dict[str, Any], Any]:
    if _is_event(item):
        event = check_event(item)
        return dict(event.get_attributes()), (event.get_data() if has_data(event) else None)
    if isinstance(item, Mapping):
        return {k: v for k, v in item.items() if k != "data"}, item.get("data")
    raise InvalidReply(f"a reply must be a CloudEvent or a mapping, not {type(item).__name__}")


def build_replies(invocation: Invocation, value: Any) -> list[StrictCloudEvent]:
    """The reply events for handler return ``value``; raises :class:`InvalidReply`."""
    spec, event = invocation.spec, invocation.event
    incoming = event.get_attributes() if event is not None else {}
    hops = incoming.get(HOPS_EXTENSION)
    hops = hops if isinstance(hops, int) and not isinstance(hops, bool) else 0
    replies: list[StrictCloudEvent] = []
    for index, item in enumerate(_as_list(value)):
        attributes, data = _parts(item)
        attributes.setdefault("source", function_source(spec.name))
        if attributes.get("id") is None:
            seed = f"{spec.name}\x00{incoming.get('source')}\x00{incoming.get('id')}\x00{index}"
            attributes["id"] = str(uuid.uuid5(_REPLY_NAMESPACE, seed))
        attributes[HOPS_EXTENSION] = hops + 1
        try:
            replies.append(new_event(attributes, data))
        except InvalidEventError as exc:
            raise InvalidReply(f"reply {index} is not a valid event: {exc}") from exc
    return replies


class Replies(Middleware):
    def __init__(self, outbox: Outbox, system: str = "eventfn.embedded") -> None:
        self.outbox = outbox
        self.system = system

    def __call__(self, invocation: Invocation, call_next: Next) -> Result:
        result = call_next(invocation)
        if result.outcome is not Outcome.DONE or result.value is None:
            return result
        try:
            replies = build_replies(invocation, result.value)
        except InvalidReply as exc:
            return replace(result, outcome=Outcome.FAILED, error=exc)
        if replies:
            spans = publish_spans(
                replies,
                destination=topology.BRIDGE_QUEUE,
                system=self.system,
                function=invocation.spec.name,
            )
            try:
                with spans as traced:
                    self.outbox.publish_replies(traced)
            except MessageTooLarge as exc:  # none was published; it will never fit
                error = InvalidReply(f"a reply cannot fit the broker's limits: {exc}")
                return replace(result, outcome=Outcome.FAILED, error=error)
        return result
