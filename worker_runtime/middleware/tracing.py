"""W3C trace context: read ``traceparent``/``tracestate`` extensions, pass them on.

The function's execution is a child span of the incoming ``traceparent``: same
trace id, a new parent id (span id); replies carry it (:mod:`.replies`). The
trace id is bound to the log lines. Invalid ``traceparent`` values are ignored
(the spec says to restart the trace).
"""

from __future__ import annotations

import re
import secrets

import structlog

from worker_runtime.context import Invocation, Result
from worker_runtime.middleware.base import Middleware, Next

__all__ = ["Tracing", "child_traceparent", "parse_traceparent"]

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")


def parse_traceparent(value: object) -> tuple[str, str, str] | None:
    """``(trace_id, parent_id, flags)`` of a valid traceparent, else None."""
    if not isinstance(value, str):
        return None
    match = _TRACEPARENT.match(value.strip())
    if match is None:
        return None
    version, trace_id, parent_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest):
        return None
    if trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    return trace_id, parent_id, flags


def child_traceparent(value: object) -> str | None:
    """A traceparent for a child span of ``value`` (None when it is not valid)."""
    parsed = parse_traceparent(value)
    if parsed is None:
        return None
    trace_id, _, flags = parsed
    return f"00-{trace_id}-{secrets.token_hex(8)}-{flags}"


class Tracing(Middleware):
    def __call__(self, invocation: Invocation, call_next: Next) -> Result:
        if invocation.event is None:
            return call_next(invocation)
        attributes = invocation.event.get_attributes()
        child = child_traceparent(attributes.get("traceparent"))
        if child is None:
            return call_next(invocation)
        invocation.traceparent = child
        state = attributes.get("tracestate")
        invocation.tracestate = state if isinstance(state, str) else None
        with structlog.contextvars.bound_contextvars(trace_id=child.split("-")[1]):
            return call_next(invocation)
