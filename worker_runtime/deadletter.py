"""Dead letters: the original event bytes plus extensions that say what went wrong.

A dead-letter message's body is the event's structured JSON exactly as the
function received it; the error context travels in message headers named like
CloudEvents extensions (``eventfnfunction``, ``eventfnerrortype`` ...), so
``eventfn dlq list`` can show them as extensions and a replay sends the original
bytes. Called by the execution path when a handler fails for good.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "HEADER_NAMES",
    "TRACEBACK_LIMIT",
    "DeadLetter",
    "dead_letter_headers",
    "from_exception",
    "parse_time",
]

TRACEBACK_LIMIT = 4096


@dataclass(frozen=True)
class DeadLetter:
    """Why an event was dead-lettered (the values of the ``eventfn*`` extensions)."""

    function: str
    error_type: str
    error: str
    traceback: str
    attempts: int
    first_failure: datetime
    last_failure: datetime


#: The extensions a dead letter carries (message headers; ``eventfn dlq list`` shows them).
HEADER_NAMES = (
    "eventfnfunction",
    "eventfnerrortype",
    "eventfnerror",
    "eventfntraceback",
    "eventfnattempts",
    "eventfnfirstfailure",
    "eventfnlastfailure",
)


def parse_time(text: str | None) -> datetime | None:
    """An RFC 3339 timestamp from a header, or None when absent or unreadable."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def from_exception(
    function: str, exc: BaseException, attempts: int, first_failure: datetime | None = None
) -> DeadLetter:
    now = datetime.now(UTC)
    text = "".join(traceback.format_exception(exc))
    if len(text) > TRACEBACK_LIMIT:
        text = "...\n" + text[-TRACEBACK_LIMIT:]
    return DeadLetter(
        function=function,
        error_type=f"{type(exc).__module__}.{type(exc).__qualname__}",
        error=str(exc)[:1024],
        traceback=text,
        attempts=attempts,
        first_failure=first_failure or now,
        last_failure=now,
    )


def dead_letter_headers(letter: DeadLetter) -> dict[str, Any]:
    return {
        "eventfnfunction": letter.function,
        "eventfnerrortype": letter.error_type,
        "eventfnerror": letter.error,
        "eventfntraceback": letter.traceback,
        "eventfnattempts": letter.attempts,
        "eventfnfirstfailure": _rfc3339(letter.first_failure),
        "eventfnlastfailure": _rfc3339(letter.last_failure),
    }
