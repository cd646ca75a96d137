"""What the bridge does with one input message: a pure decision, no I/O.

``decide`` decodes the message (binary or structured, by content type), enforces
the reply hop limit, asks the router and returns the messages to publish: one
Celery task message per matching function, or a dead-letter entry, or an
``unrouted`` entry, or nothing. The bridge process (``broker_bridge.bridge.process``)
publishes them, waits for the confirms and only then acks the input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from broker_bridge import topology
from broker_bridge.bindings.amqp import STRUCTURED_CONTENT_TYPE, from_amqp
from broker_bridge.formats._media import is_pickle
from broker_bridge.formats.json import to_json
from broker_bridge.invalid import InvalidEventError
from broker_bridge.taskmessage import build_task_message

__all__ = ["HOPS_EXTENSION", "Decision", "Kind", "Outgoing", "Router", "decide"]

#: Integer extension counting how many times an event was re-published as a reply.
HOPS_EXTENSION = "eventfnhops"

#: Given an event's attributes, the names of the functions that receive it.
Router = Callable[[Mapping[str, Any]], Sequence[str]]


class Kind(Enum):
    ROUTED = "routed"
    UNMATCHED = "unmatched"
    DEAD_LETTER = "dead_letter"


@dataclass(frozen=True)
class Outgoing:
    """One message to publish (to the default exchange, routing key = queue)."""

    queue: str
    body: bytes
    content_type: str
    content_encoding: str
    headers: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    kind: Kind
    outgoing: tuple[Outgoing, ...] = ()
    functions: tuple[str, ...] = ()
    attributes: Mapping[str, Any] | None = None
    reason: str | None = None


def _is_structured(content_type: str | None) -> bool:
    return bool(content_type) and str(content_type).split(";")[0].strip().lower() == (
        STRUCTURED_CONTENT_TYPE
    )


def dead_letter(
    body: bytes,
    headers: Mapping[str, Any] | None,
    content_type: str | None,
    content_encoding: str | None,
    reason: str,
    error_type: str,
    attributes: Mapping[str, Any] | None = None,
) -> Decision:
    """The input, unchanged, to the bridge's dead-letter queue with the reason."""
    entry = Outgoing(
        queue=topology.BRIDGE_DLQ,
        body=body,
        content_type=content_type or "application/octet-stream",
        content_encoding=content_encoding or "binary",
        headers={
            **(headers or {}),
            "eventfnerror": reason[:2048],
            "eventfnerrortype": error_type,
        },
        properties={"delivery_mode": 2},
    )
    return Decision(Kind.DEAD_LETTER, (entry,), attributes=attributes, reason=reason)


def _kept(
    body: bytes,
    headers: Mapping[str, Any] | None,
    content_type: str | None,
    content_encoding: str | None,
) -> tuple[Outgoing]:
    """An unmatched input, unchanged, for the ``unrouted`` queue."""
    return (
        Outgoing(
            queue=topology.BRIDGE_UNROUTED,
            body=body,
            content_type=content_type or "application/octet-stream",
            content_encoding=content_encoding or "binary",
            headers=dict(headers or {}),
            properties={"delivery_mode": 2},
        ),
    )


def _refusal(attributes: Mapping[str, Any], max_hops: int) -> tuple[str, str] | None:
    """(reason, error type) when a decoded event must not be routed, else None."""
    if is_pickle(attributes.get("datacontenttype")):
        reason = "pickled data is refused: eventfn carries JSON, text or opaque bytes, never pickle"
        return reason, "UnsupportedFormatError"
    hops = attributes.get(HOPS_EXTENSION, 0)
    if isinstance(hops, int) and not isinstance(hops, bool) and hops > max_hops:
        reason = f"hop limit exceeded: {HOPS_EXTENSION}={hops} > {max_hops} (a reply loop?)"
        return reason, "HopLimitExceeded"
    return None


def decide(
    body: bytes,
    headers: Mapping[str, Any] | None,
    content_type: str | None,
    content_encoding: str | None,
    router: Router,
    *,
    max_hops: int,
    keep_unmatched: bool,
) -> Decision:
    """Route one input message; never raises for bad input (it becomes a dead letter)."""
    try:
        event = from_amqp(body, headers, content_type)
    except InvalidEventError as exc:
        return dead_letter(
            body, headers, content_type, content_encoding, str(exc), type(exc).__name__
        )
    attributes = event.get_attributes()
    refusal = _refusal(attributes, max_hops)
    if refusal is not None:
        return dead_letter(
            body, headers, content_type, content_encoding, *refusal, attributes=attributes
        )
    try:
        functions = tuple(router(attributes))
    except Exception as exc:  # a router bug must not lose the event or stop the bridge
        reason = f"routing failed: {type(exc).__name__}: {exc}"
        return dead_letter(
            body, headers, content_type, content_encoding, reason, "RoutingError", attributes
        )
    if not functions:
        kept = _kept(body, headers, content_type, content_encoding) if keep_unmatched else ()
        return Decision(Kind.UNMATCHED, kept, attributes=attributes)
    try:
        event_json = (
            body.decode("utf-8") if _is_structured(content_type) else to_json(event).decode()
        )
    except (InvalidEventError, UnicodeDecodeError) as exc:  # read, but cannot be written back
        reason, error_type = str(exc), type(exc).__name__
        return dead_letter(
            body, headers, content_type, content_encoding, reason, error_type, attributes
        )
    source, event_id = str(attributes["source"]), str(attributes["id"])
    outgoing = []
    for function in functions:
        task = build_task_message(function, event_json, source, event_id)
        outgoing.append(
            Outgoing(
                queue=task.routing_key,
                body=task.body,
                content_type=task.content_type,
                content_encoding=task.content_encoding,
                headers=task.headers,
                properties=task.properties,
            )
        )
    return Decision(Kind.ROUTED, tuple(outgoing), functions, attributes)
