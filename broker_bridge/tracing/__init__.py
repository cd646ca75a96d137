"""OpenTelemetry tracing of events, through the OpenTelemetry API only.

eventfn records spans with ``opentelemetry-api``, which is a no-op until an SDK
is installed and configured: without ``eventfn[otel]`` and the standard
``OTEL_*`` variables no span is recorded and nothing is exported. The pieces:

* :mod:`.propagation` writes and reads the event's context in the CloudEvents
  distributed-tracing extension (``traceparent``/``tracestate``) with the W3C
  propagator, so a producer in any language continues the trace;
* :mod:`.spans` starts the spans of the messaging and CloudEvents semantic
  conventions (``publish`` producer spans, the bridge's ``route``, the worker's
  ``process``) with their attributes, and binds ``trace_id``/``span_id`` to log lines;
* :mod:`.sdk` sets the SDK up in an eventfn process when an exporter is configured
  with the standard variables (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_TRACES_EXPORTER``).
"""

from __future__ import annotations

from broker_bridge.tracing.propagation import (
    context_from_traceparent,
    current_traceparent,
    extract,
    inject,
)
from broker_bridge.tracing.sdk import (
    flush_tracing,
    setup_tracing,
    shutdown_tracing,
    tracing_configured,
)
from broker_bridge.tracing.spans import (
    EVENTFN_ATTEMPT,
    EVENTFN_FUNCTION,
    add_trace_ids,
    event_span_attributes,
    messaging_system,
    passing_on,
    publish_spans,
    record_route,
    recording,
    sdk_active,
    tracer,
)

__all__ = [
    "EVENTFN_ATTEMPT",
    "EVENTFN_FUNCTION",
    "add_trace_ids",
    "context_from_traceparent",
    "current_traceparent",
    "event_span_attributes",
    "extract",
    "flush_tracing",
    "inject",
    "messaging_system",
    "passing_on",
    "publish_spans",
    "record_route",
    "recording",
    "sdk_active",
    "setup_tracing",
    "shutdown_tracing",
    "tracer",
    "tracing_configured",
]
