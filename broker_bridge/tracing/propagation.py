"""The event's trace context in its ``traceparent``/``tracestate`` extensions.

The CloudEvents distributed-tracing extension carries the W3C trace context of the
span that created the event; OpenTelemetry's W3C propagator reads and writes it
(no hand-written parsing: an invalid ``traceparent`` is ignored, as the spec says).
Following the CloudEvents semantic conventions an event that already carries a
``traceparent`` keeps it: the trace continues from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from broker_bridge.event import StrictCloudEvent, check_event, has_data

__all__ = ["context_from_traceparent", "current_traceparent", "extract", "inject"]

_W3C = TraceContextTextMapPropagator()
_KEYS = ("traceparent", "tracestate")


def extract(attributes: Mapping[str, Any]) -> Context:
    """The context an event's extensions carry (an empty one when none is valid)."""
    carrier = {key: attributes[key] for key in _KEYS if isinstance(attributes.get(key), str)}
    return _W3C.extract(carrier)


def context_from_traceparent(traceparent: str | None) -> trace.SpanContext | None:
    """The span context a ``traceparent`` value names, or None when it is not valid."""
    if not traceparent:
        return None
    span_context = trace.get_current_span(_W3C.extract({"traceparent": traceparent}))
    context = span_context.get_span_context()
    return context if context.is_valid else None


def current_traceparent(context: Context | None = None) -> dict[str, str]:
    """``traceparent``/``tracestate`` of the active span (empty without a valid one)."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier, context)
    return carrier


def inject(event: BaseCloudEvent, context: Context | None = None) -> StrictCloudEvent:
    """``event`` with the context's ``traceparent``/``tracestate``, unless it has one."""
    strict = check_event(event)
    attributes = strict.get_attributes()
    if isinstance(attributes.get("traceparent"), str):
        return strict
    carrier = current_traceparent(context)
    if not carrier:
        return strict
    return StrictCloudEvent.trusted({**attributes, **carrier}, strict.get_data(), has_data(strict))
