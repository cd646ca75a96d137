"""The one error for an invalid CloudEvent: every problem, keyed by the attribute.

Raised by every reader (JSON, batch, HTTP, RabbitMQ) and by every writer handed an
event it cannot put on the wire; the ingress renders it as a problem+json body
(:meth:`InvalidEventError.as_problem_details`) and the bridge writes it into
dead-letter entries (:attr:`InvalidEventError.problems`).

Keys of ``problems``: an attribute name (``"id"``, ``"time"``, an extension name),
``"data"`` / ``"data_base64"`` for the payload, ``"$"`` for the message as a whole.
Readers of a batch prefix each key with the event's index: ``"[2].source"``.
:class:`UnsupportedFormatError` is the leaf for a structured or batch message in an
event format eventfn does not read (the ingress answers it with 415, not 400).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from broker_bridge.errors import BridgeError

__all__ = ["InvalidEventError", "UnsupportedFormatError"]


class InvalidEventError(BridgeError, ValueError):
    """An event (or message) is not a valid CloudEvent 1.0.

    ``problems`` maps an attribute name (or ``"$"`` for the message as a whole,
    ``"data"`` for the payload) to the list of what is wrong with it.
    """

    def __init__(self, problems: Mapping[str, Sequence[str]]) -> None:
        self.problems: dict[str, list[str]] = {key: list(value) for key, value in problems.items()}
        super().__init__(self.describe())

    @classmethod
    def single(cls, attribute: str, problem: str) -> InvalidEventError:
        """The error for exactly one problem."""
        return cls({attribute: [problem]})

    def describe(self) -> str:
        """One line naming every problem: ``invalid CloudEvent: id: ...; time: ...``."""
        parts = [f"{attr}: {msg}" for attr, msgs in self.problems.items() for msg in msgs]
        return "invalid CloudEvent: " + "; ".join(parts)

    def prefixed(self, prefix: str) -> dict[str, list[str]]:
        """The problems with every key prefixed (``"[3]"`` -> ``"[3].id"``, ``"[3]"``)."""
        return {
            (prefix if key == "$" else f"{prefix}.{key}"): list(msgs)
            for key, msgs in self.problems.items()
        }

    def as_problem_details(self, status: int = 400) -> dict[str, Any]:
        """An RFC 9457 problem-details object (``application/problem+json``)."""
        return {
            "type": "about:blank",
            "title": "Invalid CloudEvent",
            "status": status,
            "detail": self.describe(),
            "invalid-params": [
                {"name": attr, "reason": msg}
                for attr, msgs in self.problems.items()
                for msg in msgs
            ],
        }


class UnsupportedFormatError(InvalidEventError):
    """A structured or batch message in an event format eventfn does not read.

    ``content_type`` is the offending media type (the ingress answers 415).
    """

    def __init__(self, content_type: str, reason: str) -> None:
        self.content_type = content_type
        super().__init__({"$": [reason]})
