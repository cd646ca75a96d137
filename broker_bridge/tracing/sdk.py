"""Set up the OpenTelemetry SDK in an eventfn process, from the standard variables only.

Nothing here is an eventfn option: the SDK is set up when an exporter is
configured the OpenTelemetry way (``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, or ``OTEL_TRACES_EXPORTER`` other than
``none``), ``OTEL_SDK_DISABLED`` is not true, and no tracer provider was set by the
application already. The SDK itself then reads the rest: ``OTEL_SERVICE_NAME``
and ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER``/``_ARG``, the batch
processor's ``OTEL_BSP_*``, the exporter's ``OTEL_EXPORTER_OTLP_*``. Only the
default ``service.name`` is eventfn's (``eventfn-worker``, ``eventfn-bridge``, ...)
when neither variable names one.

Exporters: ``otlp`` (OTLP over HTTP/protobuf, the ``eventfn[otel]`` extra) and
``console``. Without the SDK installed, a configured exporter is reported once
on stderr and eventfn runs with the API alone (no spans).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from opentelemetry import trace

from broker_bridge.errors import ConfigurationError

__all__ = ["flush_tracing", "setup_tracing", "shutdown_tracing", "tracing_configured"]

_provider: Any = None


def _exporter_names() -> list[str]:
    names = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if names:
        return [name.strip() for name in names.split(",") if name.strip() not in ("", "none")]
    endpoints = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return ["otlp"] if any(os.environ.get(key) for key in endpoints) else []


def tracing_configured() -> bool:
    """Whether the environment asks for spans to be exported."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return bool(_exporter_names())


def setup_tracing(service_name: str) -> bool:
    """Install the SDK's tracer provider when the environment configures an exporter;
    returns whether spans are now recorded and exported. Idempotent."""
    global _provider  # noqa: PLW0603 - one tracer provider per process, as in OpenTelemetry
    if _provider is not None:
        return True
    if not tracing_configured():
        return False
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return False  # the application set up its own provider: use it as it is
    try:
        from opentelemetry.sdk.resources import Resource  # noqa: PLC0415 - optional extra
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415
    except ImportError:
        print(
            "eventfn: OTEL_* configures a trace exporter but the OpenTelemetry SDK is not "
            "installed (pip install 'eventfn[otel]'); no spans are exported",
            file=sys.stderr,
        )
        return False
    resource = Resource.create()
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": service_name}))
    provider = TracerProvider(resource=resource)
    for name in _exporter_names():
        provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    trace.set_tracer_provider(provider)
    _provider = provider
    return True


def _exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter  # noqa: PLC0415

        return ConsoleSpanExporter()
    if name == "otlp":
        protocol = os.environ.get(
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
        )
        if protocol and protocol != "http/protobuf":
            print(
                f"eventfn: OTLP protocol {protocol!r} is not shipped; exporting http/protobuf",
                file=sys.stderr,
            )
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        return OTLPSpanExporter()
    raise ConfigurationError(
        f"OTEL_TRACES_EXPORTER names {name!r}; eventfn ships 'otlp' and 'console'"
    )


def shutdown_tracing() -> None:
    """Export what is buffered and stop the SDK (before a process exits)."""
    if _provider is not None:
        _provider.shutdown()


def flush_tracing(timeout_millis: int = 5000) -> None:
    """Export what is buffered now (a prefork child about to exit)."""
    if _provider is not None:
        _provider.force_flush(timeout_millis)
