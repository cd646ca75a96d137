"""Bind the event's id, type, source, the function and the attempt to every log line.

Uses structlog's context variables, so lines logged by the handler itself (with
structlog) carry the same fields; :mod:`.attempts` rebinds ``attempt`` when a
redelivery turns out to be a later attempt.
"""

from __future__ import annotations

import structlog

from broker_bridge.logs import event_fields
from worker_runtime.context import Invocation, Result
from worker_runtime.middleware.base import Middleware, Next

__all__ = ["LogContext"]


class LogContext(Middleware):
    def __call__(self, invocation: Invocation, call_next: Next) -> Result:
        attributes = invocation.event.get_attributes() if invocation.event is not None else {}
        fields = event_fields(attributes, invocation.spec.name)
        with structlog.contextvars.bound_contextvars(**fields, attempt=invocation.attempt):
            return call_next(invocation)
