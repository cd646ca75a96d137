"""Structured logging, configured once per process.

Console rendering on a terminal, JSON lines otherwise (or when
``EVENTFN_LOG_FORMAT=json``). Every line logged while a span is active carries its
``trace_id`` and ``span_id`` (OpenTelemetry). Callers use ``structlog.get_logger()`` and bind the
event's id, type, source and the function name (:func:`event_fields`).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

import structlog

from broker_bridge.tracing.spans import add_trace_ids

__all__ = ["configure_logging", "event_fields"]

_configured = False


def configure_logging(fmt: str = "auto", level: str = "INFO", *, force: bool = False) -> None:
    """Configure structlog and the stdlib root logger; later calls are no-ops unless forced."""
    global _configured  # noqa: PLW0603 - process-wide logging is configured exactly once
    if _configured and not force:
        return
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        add_trace_ids,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if use_json:
        shared.append(structlog.processors.format_exc_info)
    numeric_level = logging.getLevelName(level.upper())
    if not isinstance(numeric_level, int):
        numeric_level = logging.INFO
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric_level)
    _configured = True


def event_fields(attributes: Mapping[str, Any], function: str | None = None) -> dict[str, Any]:
    """The fields every log line about an event carries: id, type, source, function."""
    fields: dict[str, Any] = {
        "event_id": attributes.get("id"),
        "event_type": attributes.get("type"),
        "event_source": attributes.get("source"),
    }
    if function is not None:
        fields["function"] = function
    return fields
