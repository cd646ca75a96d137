"""The execution path of one event in one function, independent of Celery.

``execute`` decodes the event, calls the handler (sync or async) and reports the
outcome; the Celery task in ``worker_runtime.app`` is a thin shell around it.
Every log line carries the event's id, type, source and the function name.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import structlog
from cloudevents.core.base import BaseCloudEvent

from broker_bridge.formats.json import from_json
from broker_bridge.invalid import InvalidEventError
from broker_bridge.logs import event_fields
from worker_runtime.registry import FunctionSpec

__all__ = ["Outcome", "Result", "execute"]

log = structlog.get_logger("eventfn.worker")


class Outcome(Enum):
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    value: Any = None
    error: BaseException | None = None
    duration: float = 0.0


def _call(handler: Callable[..., Any], event: BaseCloudEvent, is_async: bool) -> Any:
    if is_async:
        return asyncio.run(handler(event))
    return handler(event)


def execute(spec: FunctionSpec, event_json: str, *, attempt: int = 1) -> Result:
    """Run ``spec``'s handler on the event; never raises for handler or event errors."""
    started = time.perf_counter()
    try:
        event = from_json(event_json)
    except InvalidEventError as exc:
        log.error("invalid event", function=spec.name, attempt=attempt, error=str(exc))
        return Result(Outcome.FAILED, error=exc, duration=time.perf_counter() - started)
    bound = log.bind(**event_fields(event.get_attributes(), spec.name), attempt=attempt)
    try:
        value = _call(spec.handler, event, spec.is_async)
    except Exception as exc:  # a handler may raise anything; the outcome records it
        duration = time.perf_counter() - started
        bound.warning("handler failed", error_type=type(exc).__name__, error=str(exc))
        return Result(Outcome.FAILED, error=exc, duration=duration)
    duration = time.perf_counter() - started
    bound.debug("handled", duration_ms=round(duration * 1000, 3))
    return Result(Outcome.DONE, value=value, duration=duration)
