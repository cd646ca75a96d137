"""The worker's ``process`` span (OpenTelemetry, consumer) around one delivery.

A child of the context in the event's ``traceparent``/``tracestate`` (the
CloudEvents distributed-tracing extension, read by OpenTelemetry's W3C
propagator); a retry is linked to the attempt before it (its span context travels
in the retry message's ``eventfn_previous_span`` header, written by
:mod:`worker_runtime.publishing`). The span is active while the rest of the chain
runs, so replies are published as its children, log lines carry its
``trace_id``/``span_id`` and dead-lettering is recorded on it as a span event
(:mod:`.deadletter`). With the OpenTelemetry API alone (no SDK) the span records
nothing and only carries the event's context on to the replies.

Outside :mod:`.deadletter` (so the dead letter happens inside the span), hence
it decodes the event itself; :mod:`.decode` then keeps it, or fails the delivery
when it cannot be decoded (the span then starts a new trace).
"""

from __future__ import annotations

import contextlib

from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from broker_bridge import topology
from broker_bridge.formats.json import from_json
from broker_bridge.invalid import InvalidEventError
from broker_bridge.tracing import (
    EVENTFN_ATTEMPT,
    EVENTFN_FUNCTION,
    context_from_traceparent,
    event_span_attributes,
    extract,
    passing_on,
    sdk_active,
    tracer,
)
from worker_runtime.context import Invocation, Outcome, Result
from worker_runtime.middleware.base import Middleware, Next

__all__ = ["Tracing"]


class Tracing(Middleware):
    def __init__(self, system: str = "eventfn.embedded") -> None:
        self.system = system

    def __call__(self, invocation: Invocation, call_next: Next) -> Result:
        delivery = invocation.delivery
        if invocation.event is None:
            with contextlib.suppress(InvalidEventError):  # Decode fails it with the reason
                invocation.event = from_json(delivery.body)
        attributes = invocation.event.get_attributes() if invocation.event is not None else {}
        if not sdk_active():  # the API alone: no span, the context passed on as it came
            with passing_on(attributes):
                return call_next(invocation)
        previous = context_from_traceparent(delivery.previous_span)
        links = [Link(previous, {"eventfn.link": "previous_attempt"})] if previous else None
        queue = topology.function_queue_name(delivery.spec.name)
        span = tracer().start_span(
            f"process {queue}", context=extract(attributes), kind=SpanKind.CONSUMER, links=links
        )
        with trace.use_span(span, end_on_exit=True):
            result = call_next(invocation)
            if span.is_recording():
                self._describe(span, invocation, result, queue)
        return result

    def _describe(
        self, span: trace.Span, invocation: Invocation, result: Result, queue: str
    ) -> None:
        attributes = invocation.event.get_attributes() if invocation.event is not None else {}
        span.set_attributes(
            {
                "messaging.system": self.system,
                "messaging.operation.name": "process",
                "messaging.operation.type": "process",
                "messaging.destination.name": queue,
                "messaging.message.id": invocation.delivery.task_id,
                EVENTFN_FUNCTION: invocation.spec.name,
                EVENTFN_ATTEMPT: invocation.attempt,
                "eventfn.outcome": result.outcome.value,
                **event_span_attributes(attributes),
            }
        )
        if result.error is not None:
            span.record_exception(result.error)
            kind = type(result.error)
            span.set_attribute("error.type", f"{kind.__module__}.{kind.__qualname__}")
        if result.outcome in (Outcome.FAILED, Outcome.DEAD_LETTERED, Outcome.RETRIED):
            detail = f"{type(result.error).__name__}: {result.error}" if result.error else None
            span.set_status(Status(StatusCode.ERROR, detail))
