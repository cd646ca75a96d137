"""The one retry layer: a failed attempt is republished with the next attempt number.

Retryable failures (anything but :class:`~worker_runtime.errors.PermanentError`)
with attempts left are put back on the function's queue through the outbox with
``eventfn_attempt`` + 1, the first failure time, and an ETA ``delay_before`` the
policy says (jittered, capped); the input is then acked. Celery's own retries
and autoretry are never used, so retries do not stack.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime

import structlog

from worker_runtime.context import Invocation, Outcome, Result
from worker_runtime.errors import PermanentError
from worker_runtime.middleware.base import Middleware, Next
from worker_runtime.ports import Outbox

__all__ = ["Retrying", "is_retryable", "rfc3339_now"]

log = structlog.get_logger("eventfn.worker")


def is_retryable(error: BaseException | None) -> bool:
    return error is not None and not isinstance(error, PermanentError)


def rfc3339_now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class Retrying(Middleware):
    def __init__(self, outbox: Outbox, rng: random.Random | None = None) -> None:
        self.outbox = outbox
        self.rng = rng

    def __call__(self, invocation: Invocation, call_next: Next) -> Result:
        result = call_next(invocation)
        policy = invocation.spec.retry
        if result.outcome is not Outcome.FAILED or not is_retryable(result.error):
            return result
        if invocation.attempt >= policy.max_attempts:
            return result
        following = invocation.attempt + 1
        delay = policy.delay_before(following, self.rng)
        first_failure = invocation.delivery.first_failure or rfc3339_now()
        self.outbox.publish_retry(
            invocation.delivery, attempt=following, delay=delay, first_failure=first_failure
        )
        log.info(
            "retry scheduled",
            next_attempt=following,
            delay=round(delay, 3),
            error_type=type(result.error).__name__,
        )
        return replace(result, outcome=Outcome.RETRIED)
