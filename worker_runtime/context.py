"""What one delivery of one event to one function carries through the execution path.

:class:`Delivery` is what the Celery shell read off the message; :class:`Invocation`
is the mutable state the middleware pass along (decoded event, effective attempt,
handler value); :class:`Result` is what comes back out.
Handlers read their own :class:`DeliveryInfo` with :func:`current_delivery` (the
attempt number, the deadline) without ever seeing Celery.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from cloudevents.core.base import BaseCloudEvent

from worker_runtime.registry import FunctionSpec

__all__ = [
    "Delivery",
    "DeliveryInfo",
    "Invocation",
    "Outcome",
    "Result",
    "current_delivery",
]


class Outcome(Enum):
    """How a delivery ended; every outcome but FAILED leads to an ack."""

    DONE = "done"  # the handler succeeded (replies published)
    FAILED = "failed"  # the handler (or the event) failed; not yet decided
    RETRIED = "retried"  # republished for a later attempt
    DEAD_LETTERED = "dead_lettered"  # published to the function's DLQ
    DUPLICATE = "duplicate"  # an idempotent function already completed this event
    DEFERRED = "deferred"  # another worker is running this event right now


@dataclass(frozen=True)
class Delivery:
    """One message as received: the event's structured JSON and our headers."""

    spec: FunctionSpec
    body: str
    task_id: str
    attempt: int = 1
    redelivered: bool = False
    first_failure: str | None = None
    defers: int = 0
    #: ``traceparent`` of the attempt before this one (a retry), linked from its span
    previous_span: str | None = None


@dataclass
class Invocation:
    """The state of one delivery on its way through the middleware."""

    delivery: Delivery
    event: BaseCloudEvent | None = None
    attempt: int = 1
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> FunctionSpec:
        return self.delivery.spec


@dataclass(frozen=True)
class Result:
    """The outcome of a delivery; ``value`` is what the handler returned."""

    outcome: Outcome
    value: Any = None
    error: BaseException | None = None
    duration: float = 0.0


@dataclass(frozen=True)
class DeliveryInfo:
    """What a handler may know about its own call."""

    function: str
    attempt: int
    max_attempts: int
    timeout: float
    first_failure: str | None


_current: contextvars.ContextVar[DeliveryInfo | None] = contextvars.ContextVar(
    "eventfn_delivery", default=None
)


def current_delivery() -> DeliveryInfo:
    """The running handler's delivery (attempt number ...); only valid inside a handler."""
    info = _current.get()
    if info is None:
        raise LookupError("current_delivery() is only available inside a running handler")
    return info


def set_current(info: DeliveryInfo | None) -> contextvars.Token[DeliveryInfo | None]:
    """Used by the execution core around the handler call."""
    return _current.set(info)


def reset_current(token: contextvars.Token[DeliveryInfo | None]) -> None:
    _current.reset(token)
