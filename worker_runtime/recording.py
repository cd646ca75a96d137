"""The recording hook: observe every delivery's outcome (for tests and debugging).

:class:`Recording` is the outermost middleware of a pipeline when a recorder is
set; after the rest of the chain returns it hands a :class:`RecordEntry` (the
function, the event as delivered, the outcome, the attempt, the handler's value
and error, the replies published) to a :class:`Recorder`. It never changes the
outcome, and a failing recorder is logged, never raised into the delivery.

``eventfn worker`` installs a :class:`JsonLinesRecorder` when
``EVENTFN_RECORD_FILE`` is set (:class:`~worker_runtime.settings.WorkerSettings`):
one JSON object per line (:func:`entry_to_json`), appended with a single
``write`` so several worker processes can share the file. The pytest plugin
(:mod:`worker_runtime.testing`) reads it back; its in-process harness passes its
own recorder to :func:`with_recording`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from cloudevents.core.base import BaseCloudEvent
from pydantic import BaseModel

from worker_runtime.context import Invocation, Outcome, Result
from worker_runtime.execution import Pipeline
from worker_runtime.middleware import Middleware, Next
from worker_runtime.middleware.replies import InvalidReply, build_replies

__all__ = [
    "EVENT_KEY",
    "JsonLinesRecorder",
    "RecordEntry",
    "Recorder",
    "Recording",
    "decode_value",
    "entry_to_json",
    "with_recording",
]

log = structlog.get_logger("eventfn.worker")

#: How a CloudEvent inside a recorded value is written (``{"$cloudevent": {...}}``).
EVENT_KEY = "$cloudevent"


@dataclass(frozen=True)
class RecordEntry:
    """One delivery as it ended (``outcome``: done, retried, dead_lettered, ...)."""

    function: str
    outcome: Outcome
    attempt: int
    max_attempts: int
    body: str
    task_id: str
    value: Any = None
    error: BaseException | None = None
    replies: tuple[BaseCloudEvent, ...] = ()
    duration: float = 0.0
    at: float = 0.0


#: Receives every entry; called in the worker's thread right after the delivery.
Recorder = Callable[[RecordEntry], None]


class Recording(Middleware):
    """Hands a :class:`RecordEntry` per delivery to ``recorder`` (outermost)."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def __call__(self, invocation: Invocation, call_next: Next) -> Result:
        result = call_next(invocation)
        try:
            self.recorder(_entry(invocation, result))
        except Exception:  # observing must never change what happened to the event
            log.exception("recorder failed", function=invocation.spec.name)
        return result


def _entry(invocation: Invocation, result: Result) -> RecordEntry:
    replies: tuple[BaseCloudEvent, ...] = ()
    if result.outcome is Outcome.DONE and result.value is not None:
        try:  # the same events the Replies middleware published (ids are derived)
            replies = tuple(build_replies(invocation, result.value))
        except InvalidReply:
            replies = ()
    delivery = invocation.delivery
    return RecordEntry(
        function=invocation.spec.name,
        outcome=result.outcome,
        attempt=invocation.attempt,
        max_attempts=invocation.spec.retry.max_attempts,
        body=delivery.body,
        task_id=delivery.task_id,
        value=result.value,
        error=result.error,
        replies=replies,
        duration=result.duration,
        at=time.time(),
    )


def with_recording(pipeline: Pipeline, recorder: Recorder | None) -> Pipeline:
    """``pipeline`` with :class:`Recording` outermost (unchanged when ``recorder`` is None)."""
    if recorder is None:
        return pipeline
    return Pipeline(pipeline.spec, [Recording(recorder), *pipeline.middleware])


# -- the JSON lines form ---------------------------------------------------------------
def _is_event(value: Any) -> bool:
    return callable(getattr(value, "get_attributes", None)) and callable(
        getattr(value, "get_data", None)
    )


def _event_json(value: Any) -> Any:
    from broker_bridge.formats.json import event_to_dict  # noqa: PLC0415 - only when recording

    try:
        return {EVENT_KEY: _jsonable(event_to_dict(value))}
    except ValueError:
        return repr(value)


def _jsonable(value: Any) -> Any:
    """``value`` with CloudEvents as ``{"$cloudevent": ...}`` and models dumped."""
    if value is None or isinstance(value, str | int | float | bool):
        result: Any = value
    elif _is_event(value):
        result = _event_json(value)
    elif isinstance(value, BaseModel):
        result = value.model_dump(mode="json")
    elif isinstance(value, Mapping):
        result = {str(key): _jsonable(item) for key, item in value.items()}
    elif isinstance(value, list | tuple):
        result = [_jsonable(item) for item in value]
    elif isinstance(value, bytes):
        result = value.decode("utf-8", errors="replace")
    else:
        result = repr(value)
    return result


def decode_value(value: Any) -> Any:
    """The inverse of the JSON form: ``{"$cloudevent": ...}`` objects become events."""
    from broker_bridge.formats.json import event_from_dict  # noqa: PLC0415 - readers only

    if isinstance(value, dict):
        if set(value) == {EVENT_KEY}:
            return event_from_dict(value[EVENT_KEY])
        return {key: decode_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode_value(item) for item in value]
    return value


def _event_object(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def entry_to_json(entry: RecordEntry) -> dict[str, Any]:
    """One entry as a JSON object (what :class:`JsonLinesRecorder` writes); ``event``
    is the delivered event's JSON object (``null`` and ``body`` the text when the
    body was not JSON)."""
    error = entry.error
    event = _event_object(entry.body)
    line = {
        "function": entry.function,
        "outcome": entry.outcome.value,
        "attempt": entry.attempt,
        "max_attempts": entry.max_attempts,
        "event": event,
        "task_id": entry.task_id,
        "result": _jsonable(entry.value),
        "error_type": (
            f"{type(error).__module__}.{type(error).__qualname__}" if error is not None else None
        ),
        "error": str(error) if error is not None else None,
        "replies": [_jsonable(reply) for reply in entry.replies],
        "duration": entry.duration,
        "at": entry.at,
        "pid": os.getpid(),
    }
    if event is None:
        line["body"] = entry.body
    return line


class JsonLinesRecorder:
    """Appends :func:`entry_to_json` lines to ``path`` (one ``write`` per line)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __call__(self, entry: RecordEntry) -> None:
        line = (json.dumps(entry_to_json(entry), ensure_ascii=False) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
