"""What the test harnesses report: :class:`Handled` deliveries and :class:`DeadLetter` s.

Built from the recording hook's entries (:mod:`worker_runtime.recording`): live
ones in the in-process harness, JSON lines written by worker subprocesses in the
process harness; dead letters are read from the function's real dead-letter queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from cloudevents.core.base import BaseCloudEvent

from broker_bridge.formats.json import event_from_dict, from_json
from broker_bridge.invalid import InvalidEventError
from worker_runtime.context import Outcome
from worker_runtime.dlq import DeadLetterMessage
from worker_runtime.recording import RecordEntry, decode_value

__all__ = [
    "FINAL_OUTCOMES",
    "Attempt",
    "DeadLetter",
    "Handled",
    "HandledOutcome",
    "attempt_from_entry",
    "attempt_from_json",
    "dead_letter_from_message",
]

HandledOutcome = Literal["ok", "dead_lettered", "duplicate"]

#: Recorded outcomes that end an event's handling, by the name :class:`Handled` uses.
FINAL_OUTCOMES: dict[str, HandledOutcome] = {
    Outcome.DONE.value: "ok",
    Outcome.DEAD_LETTERED.value: "dead_lettered",
    Outcome.DUPLICATE.value: "duplicate",
}


@dataclass(frozen=True)
class Handled:
    """One event a function finished with (succeeded, dead-lettered, or skipped as a
    duplicate). ``event`` is the CloudEvent as delivered (its data the JSON value; a
    ``data_model`` handler got it validated into the model); ``result`` what the
    handler returned (None when it did not succeed); ``error`` ``"Type: message"`` of
    the last failure (None on success); ``attempts`` the attempt that ended it."""

    function: str
    event: BaseCloudEvent | None
    result: Any
    error: str | None
    error_type: str | None
    attempts: int
    outcome: HandledOutcome
    replies: tuple[BaseCloudEvent, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass(frozen=True)
class Attempt:
    """One recorded delivery, final or not (``outcome``: done, retried, deferred ...)."""

    function: str
    outcome: str
    attempt: int
    event_id: str | None
    handled: Handled | None  # set when the outcome is final

    def describe(self) -> str:
        error = f" ({self.handled.error})" if self.handled and self.handled.error else ""
        return f"id={self.event_id} attempt {self.attempt}: {self.outcome}{error}"


@dataclass(frozen=True)
class DeadLetter:
    """One message of a function's dead-letter queue: the original event and why."""

    function: str
    event: BaseCloudEvent | None
    error_type: str
    error_message: str
    attempts: int
    traceback: str = ""


def _decode_event(body: str | bytes) -> BaseCloudEvent | None:
    try:
        return from_json(body)
    except (InvalidEventError, ValueError):
        return None


def _error_text(error_type: str | None, message: str | None) -> str | None:
    if error_type is None:
        return None
    short = error_type.rsplit(".", 1)[-1]
    return f"{short}: {message}" if message else short


def attempt_from_entry(entry: RecordEntry) -> Attempt:
    """An :class:`Attempt` from a live recording entry (in-process harness)."""
    event = _decode_event(entry.body)
    error = entry.error
    error_type = f"{type(error).__module__}.{type(error).__qualname__}" if error else None
    final = FINAL_OUTCOMES.get(entry.outcome.value)
    handled = None
    if final is not None:
        handled = Handled(
            function=entry.function,
            event=event,
            result=entry.value if final == "ok" else None,
            error=_error_text(error_type, str(error) if error else None),
            error_type=error_type,
            attempts=entry.attempt,
            outcome=final,
            replies=entry.replies,
        )
    return Attempt(
        entry.function,
        entry.outcome.value,
        entry.attempt,
        str(event.get_id()) if event else None,
        handled,
    )


def attempt_from_json(line: dict[str, Any]) -> Attempt:
    """An :class:`Attempt` from one JSON line of a worker's record file."""
    raw = line.get("event")
    event: BaseCloudEvent | None = None
    if isinstance(raw, dict):
        try:
            event = event_from_dict(raw)
        except InvalidEventError:
            event = None
    final = FINAL_OUTCOMES.get(str(line.get("outcome")))
    handled = None
    if final is not None:
        handled = Handled(
            function=str(line["function"]),
            event=event,
            result=decode_value(line.get("result")) if final == "ok" else None,
            error=_error_text(line.get("error_type"), line.get("error")),
            error_type=line.get("error_type"),
            attempts=int(line.get("attempt") or 1),
            outcome=final,
            replies=tuple(decode_value(reply) for reply in line.get("replies") or ()),
        )
    event_id = event.get_id() if event else (raw or {}).get("id") if isinstance(raw, dict) else None
    return Attempt(
        str(line["function"]),
        str(line.get("outcome")),
        int(line.get("attempt") or 1),
        str(event_id) if event_id is not None else None,
        handled,
    )


def dead_letter_from_message(function: str, message: DeadLetterMessage) -> DeadLetter:
    """A :class:`DeadLetter` from a dead-letter queue message (:mod:`worker_runtime.dlq`)."""
    ext = message.extensions
    return DeadLetter(
        function=function,
        event=_decode_event(message.body),
        error_type=str(ext.get("eventfnerrortype", "")),
        error_message=str(ext.get("eventfnerror", "")),
        attempts=int(ext.get("eventfnattempts") or 0),
        traceback=str(ext.get("eventfntraceback", "")),
    )
