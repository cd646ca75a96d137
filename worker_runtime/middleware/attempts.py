"""Count attempts that never reported back: worker loss and hard timeouts.

A marker ``(function, task id, attempt)`` is written to the state store before
the handler runs, or, with ``mark_after`` > 0 (remote stores), once it has run
that long (off the hot path, :mod:`worker_runtime.markers`); always at once for
a redelivered message. A
message that comes back *redelivered* (the worker died, or its process was
replaced at the hard timeout) finds the marker of its attempt: that attempt was
used up, so this run is the next one (and the one after, if
that marker exists too). A redelivered message whose handler never started (a
prefetched message requeued at shutdown, a retry still waiting its delay) finds
no marker and keeps its attempt number. Past ``max_attempts`` the event is
failed permanently with :class:`HandlerLost` (and dead-lettered).

Trade-off with ``mark_after``: a first delivery that kills its worker sooner leaves no
marker, so that one crash is not counted; its redelivery is marked at once, so a
poison message that crashes workers is still stopped (after one extra run).
"""

from __future__ import annotations

import structlog

from worker_runtime.context import Invocation, Outcome, Result
from worker_runtime.errors import PermanentError
from worker_runtime.markers import DelayedMarker, Pending
from worker_runtime.middleware.base import Middleware, Next
from worker_runtime.state.base import StateStore

__all__ = ["Attempts", "HandlerLost"]

log = structlog.get_logger("eventfn.worker")


class HandlerLost(PermanentError):
    """The handler's last allowed attempt never finished (worker lost or hard timeout)."""

    def __init__(self, function: str, attempts: int) -> None:
        self.function = function
        self.attempts = attempts
        super().__init__(
            f"attempt {attempts} of {function!r} never finished "
            "(the worker process was lost or replaced at the hard timeout)"
        )


def marker_key(function: str, task_id: str, attempt: int) -> str:
    return f"attempt:{function}:{task_id}:{attempt}"


class Attempts(Middleware):
    def __init__(self, store: StateStore, ttl: float, mark_after: float = 0.0) -> None:
        self.store = store
        self.ttl = ttl
        self.marker = DelayedMarker(store, mark_after)

    def __call__(self, invocation: Invocation, call_next: Next) -> Result:
        delivery, spec = invocation.delivery, invocation.spec
        attempt = delivery_attempt = invocation.attempt
        pending: Pending | None = None
        if delivery.redelivered:
            while not self.store.mark_if_absent(
                marker_key(spec.name, delivery.task_id, attempt), self.ttl
            ):
                attempt += 1
                if attempt > spec.retry.max_attempts:
                    break
            if attempt != invocation.attempt:
                log.warning("previous attempt was lost", lost_attempt=attempt - 1)
        else:
            pending = self.marker.schedule(
                marker_key(spec.name, delivery.task_id, attempt), self.ttl
            )
        invocation.attempt = attempt
        if attempt > spec.retry.max_attempts:
            if pending is not None:
                pending.cancel()
            invocation.attempt = spec.retry.max_attempts
            return Result(Outcome.FAILED, error=HandlerLost(spec.name, spec.retry.max_attempts))
        try:
            if attempt == delivery_attempt:  # LogContext has bound it already
                return call_next(invocation)
            with structlog.contextvars.bound_contextvars(attempt=attempt):
                return call_next(invocation)
        finally:
            if pending is not None:
                pending.cancel()
