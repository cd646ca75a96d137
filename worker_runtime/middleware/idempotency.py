"""Idempotency for ``idempotent=True`` functions: run each (source, id) once.

Before the handler, the key ``(function, source, id)`` is claimed in the state
store with a lease (the hard timeout plus a margin). A key already completed
means a duplicate delivery: it is acked without running the handler
(``DUPLICATE``, counted in a metric). A key leased by another delivery that is
running right now is *deferred*: put back on the queue with a short, growing
delay and the same attempt, so that if that other worker dies this event still
runs once its lease expires. After the handler: success completes the key for
the dedupe TTL; a retry or a dead letter releases it (a replay must run again).
"""

from __future__ import annotations

import uuid

import structlog

from worker_runtime.context import Invocation, Outcome, Result
from worker_runtime.deadlines import hard_timeout
from worker_runtime.middleware.base import Middleware, Next
from worker_runtime.ports import Outbox
from worker_runtime.state.base import Claim, StateStore

__all__ = ["Idempotency", "dedupe_key", "defer_delay"]

log = structlog.get_logger("eventfn.worker")

LEASE_MARGIN = 30.0


def dedupe_key(function: str, source: str, event_id: str) -> str:
    return f"dedupe:{function}:{len(source)}:{source}:{event_id}"


def defer_delay(defers: int) -> float:
    """How long a deferred duplicate waits: 0.25 s doubling up to 10 s."""
    return float(min(0.25 * 2.0 ** min(defers, 10), 10.0))


class Idempotency(Middleware):
    def __init__(self, store: StateStore, outbox: Outbox, ttl: float) -> None:
        self.store = store
        self.outbox = outbox
        self.ttl = ttl

    def __call__(self, invocation: Invocation, call_next: Next) -> Result:
        spec, event = invocation.spec, invocation.event
        if not spec.idempotent or event is None:
            return call_next(invocation)
        key = dedupe_key(spec.name, str(event.get_source()), str(event.get_id()))
        token = uuid.uuid4().hex
        claim = self.store.claim(key, token, hard_timeout(spec) + LEASE_MARGIN)
        if claim is Claim.DONE:
            log.info("duplicate skipped")
            return Result(Outcome.DUPLICATE)
        if claim is Claim.RUNNING:
            delivery = invocation.delivery
            delay = defer_delay(delivery.defers)
            self.outbox.publish_retry(
                delivery,
                attempt=delivery.attempt,
                delay=delay,
                first_failure=delivery.first_failure,
                defers=delivery.defers + 1,
            )
            log.info("deferred: running elsewhere", delay=delay)
            return Result(Outcome.DEFERRED)
        try:
            result = call_next(invocation)
        except BaseException:
            self.store.release(key, token)
            raise
        if result.outcome is Outcome.DONE:
            self.store.complete(key, self.ttl)
        else:
            self.store.release(key, token)
        return result
