"""Dead-letter a failure that will not be retried: original bytes plus error extensions.

Anything still FAILED when it reaches this middleware (a permanent error, an
invalid event, retries exhausted) goes to the function's dead-letter queue through
the outbox, with the headers of :mod:`worker_runtime.deadletter`; the input is
then acked. The dead letter is recorded as a ``dead_letter`` event, with the
error, on the active (``process``) span.
"""

from __future__ import annotations

from dataclasses import replace

import structlog
from opentelemetry import trace

from broker_bridge import topology
from broker_bridge.logs import event_fields
from broker_bridge.tracing import EVENTFN_ATTEMPT
from worker_runtime.context import Invocation, Outcome, Result
from worker_runtime.deadletter import dead_letter_headers, from_exception, parse_time
from worker_runtime.middleware.base import Middleware, Next
from worker_runtime.ports import Outbox

__all__ = ["DeadLetter"]

log = structlog.get_logger("eventfn.worker")


class DeadLetter(Middleware):
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def __call__(self, invocation: Invocation, call_next: Next) -> Result:
        result = call_next(invocation)
        if result.outcome is not Outcome.FAILED or result.error is None:
            return result
        delivery = invocation.delivery
        letter = from_exception(
            invocation.spec.name,
            result.error,
            attempts=invocation.attempt,
            first_failure=parse_time(delivery.first_failure),
        )
        self.outbox.publish_dead_letter(delivery, dead_letter_headers(letter))
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event(
                "dead_letter",
                {
                    "error.type": letter.error_type,
                    "exception.message": letter.error,
                    EVENTFN_ATTEMPT: invocation.attempt,
                    "messaging.destination.name": topology.function_dlq_name(delivery.spec.name),
                },
            )
        attributes = invocation.event.get_attributes() if invocation.event is not None else {}
        log.warning(
            "dead-lettered",
            **event_fields(attributes, invocation.spec.name),
            attempt=invocation.attempt,
            error_type=letter.error_type,
            error=letter.error,
        )
        return replace(result, outcome=Outcome.DEAD_LETTERED)
