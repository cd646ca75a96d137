"""The one error for an invalid CloudEvent: every problem, keyed by the attribute.

Raised by every reader (JSON, batch, HTTP, RabbitMQ); the ingress renders it as a
problem+json body and the bridge writes it into dead-letter entries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from broker_bridge.errors import BridgeError

__all__ = ["InvalidEventError"]


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
        return cls({attribute: [problem]})

    def describe(self) -> str:
        parts = [f"{attr}: {msg}" for attr, msgs in self.problems.items() for msg in msgs]
        return "invalid CloudEvent: " + "; ".join(parts)
