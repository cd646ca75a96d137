"""The spans eventfn records, named and attributed per the OpenTelemetry messaging
and CloudEvents semantic conventions.

* ``publish <queue>`` (PRODUCER) for every event eventfn creates or accepts: the
  Publisher (``eventfn publish``, the HTTP ingress, ``.send``) and worker replies;
  the span's context goes into the event (:func:`~.propagation.inject`);
* ``route <queue>`` (CONSUMER) in the bridge, a child of the event's context;
* ``process <queue>`` (CONSUMER) in the worker, a child of the event's context,
  linked to the attempt before it on a retry.

Attribute values are computed only for a recording span: with the API alone
(no SDK) a span is a non-recording carrier of its parent's context.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from broker_bridge.event import StrictCloudEvent, check_event, has_data
from broker_bridge.tracing.propagation import extract, inject

__all__ = [
    "EVENTFN_ATTEMPT",
    "EVENTFN_FUNCTION",
    "add_trace_ids",
    "event_span_attributes",
    "messaging_system",
    "passing_on",
    "publish_spans",
    "record_route",
    "recording",
    "sdk_active",
    "tracer",
]

EVENTFN_FUNCTION = "eventfn.function"
EVENTFN_ATTEMPT = "eventfn.attempt"

_SYSTEMS = {"amqp": "rabbitmq", "pyamqp": "rabbitmq", "redis": "redis", "rediss": "redis"}
_TRACER_NAME = "eventfn"


_cached: tuple[object, trace.Tracer] | None = None


def tracer() -> trace.Tracer:
    """eventfn's tracer from the global provider (a no-op one without an SDK)."""
    global _cached  # noqa: PLW0603 - one tracer per provider, looked up once
    provider = trace.get_tracer_provider()
    if _cached is None or _cached[0] is not provider:
        _cached = (provider, provider.get_tracer(_TRACER_NAME))
    return _cached[1]


def recording() -> bool:
    """Whether the active span records (an SDK is set up and sampled it)."""
    return trace.get_current_span().is_recording()


def messaging_system(url: str) -> str:
    """``messaging.system`` for a broker URL: rabbitmq, redis, or the embedded broker's."""
    scheme = url.split(":", 1)[0]
    return _SYSTEMS.get(scheme, "eventfn.embedded")


def event_span_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """The CloudEvents semantic-convention attributes of an event."""
    values = {
        "cloudevents.event_id": attributes.get("id"),
        "cloudevents.event_source": attributes.get("source"),
        "cloudevents.event_type": attributes.get("type"),
        "cloudevents.event_subject": attributes.get("subject"),
        "cloudevents.event_spec_version": attributes.get("specversion"),
    }
    return {key: str(value) for key, value in values.items() if value is not None}


def _messaging(system: str, operation: str, kind: str, destination: str) -> dict[str, Any]:
    return {
        "messaging.system": system,
        "messaging.operation.name": operation,
        "messaging.operation.type": kind,
        "messaging.destination.name": destination,
    }


_incoming: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "eventfn_incoming_trace", default=None
)


@contextmanager
def passing_on(attributes: Mapping[str, Any]) -> Iterator[None]:
    """Without an SDK: what is published in the block carries the incoming event's
    ``traceparent``/``tracestate`` on as they came (what the API's non-recording span
    would propagate), without parsing them or starting a span on the hot path."""
    carrier = {
        key: value
        for key in ("traceparent", "tracestate")
        if isinstance(value := attributes.get(key), str)
    }
    token = _incoming.set(carrier or None)
    try:
        yield
    finally:
        _incoming.reset(token)


def _carry(event: BaseCloudEvent, carrier: Mapping[str, str]) -> StrictCloudEvent:
    strict = check_event(event)
    attributes = strict.get_attributes()
    if "traceparent" in attributes:
        return strict
    return StrictCloudEvent.trusted({**attributes, **carrier}, strict.get_data(), has_data(strict))


@contextmanager
def publish_spans(
    events: Sequence[BaseCloudEvent],
    *,
    destination: str,
    system: str,
    function: str | None = None,
) -> Iterator[list[BaseCloudEvent]]:
    """A ``publish`` span per event around the block; yields the events to send,
    each carrying its span's context in ``traceparent`` (unless it had one: then
    the span is a child of it, per the CloudEvents conventions).

    An exception from the block is recorded on every span and re-raised. Without an
    SDK no span is started (see :func:`passing_on`).
    """
    if not sdk_active():
        carrier = _incoming.get()
        yield [_carry(e, carrier) for e in events] if carrier else list(events)
        return
    tr = tracer()
    spans: list[trace.Span] = []
    out: list[BaseCloudEvent] = []
    for event in events:
        attributes = event.get_attributes()
        parent = extract(attributes) if "traceparent" in attributes else None
        span = tr.start_span(f"publish {destination}", context=parent, kind=SpanKind.PRODUCER)
        if span.is_recording():
            span.set_attributes(_messaging(system, "publish", "send", destination))
            span.set_attributes(event_span_attributes(attributes))
            span.set_attribute("messaging.message.id", str(attributes.get("id")))
            if function is not None:
                span.set_attribute(EVENTFN_FUNCTION, function)
        spans.append(span)
        out.append(inject(event, trace.set_span_in_context(span)))
    try:
        yield out
    except BaseException as exc:
        for span in spans:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        for span in spans:
            span.end()


def add_trace_ids(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: ``trace_id``/``span_id`` of the active span on every line."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict.setdefault("trace_id", format(context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(context.span_id, "016x"))
    return event_dict


def sdk_active() -> bool:
    """Whether a tracer provider was set (an SDK): without one a span that propagates
    nothing further (the bridge's) need not be started at all."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def record_route(
    attributes: Mapping[str, Any],
    *,
    destination: str,
    system: str,
    start_time: int,
    decision: str,
    functions: Sequence[str],
    reason: str | None = None,
) -> None:
    """The bridge's ``route`` span of one event, from ``start_time`` (ns) to now: a
    child of the event's context, naming the decision and the functions it went to."""
    span = tracer().start_span(
        f"route {destination}",
        context=extract(attributes),
        kind=SpanKind.CONSUMER,
        start_time=start_time,
    )
    if span.is_recording():
        span.set_attributes(_messaging(system, "route", "process", destination))
        span.set_attributes(event_span_attributes(attributes))
        if attributes.get("id") is not None:
            span.set_attribute("messaging.message.id", str(attributes.get("id")))
        span.set_attribute("eventfn.route.decision", decision)
        span.set_attribute("eventfn.route.functions", list(functions))
        if reason is not None:
            span.set_attribute("eventfn.route.reason", reason)
            span.set_status(Status(StatusCode.ERROR, reason))
    span.end()
