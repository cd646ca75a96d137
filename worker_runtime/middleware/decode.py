"""Decode the delivered structured JSON into a CloudEvent (or fail permanently).

An undecodable body can never succeed: the result is FAILED with the
:class:`~broker_bridge.invalid.InvalidEventError`, which the dead-letter
middleware (outside this one) sends to the DLQ without any retry.
"""

from __future__ import annotations

from broker_bridge.formats.json import from_json
from broker_bridge.invalid import InvalidEventError
from worker_runtime.context import Invocation, Outcome, Result
from worker_runtime.middleware.base import Middleware, Next

__all__ = ["Decode"]


class Decode(Middleware):
    def __call__(self, invocation: Invocation, call_next: Next) -> Result:
        if invocation.event is not None:  # decoded already (by the tracing middleware)
            return call_next(invocation)
        try:
            invocation.event = from_json(invocation.delivery.body)
        except InvalidEventError as exc:
            return Result(Outcome.FAILED, error=exc)
        return call_next(invocation)
