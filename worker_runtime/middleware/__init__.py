"""The execution path's middleware: one cross-cutting concern per module.

Each middleware wraps the rest of the chain (``__call__(invocation, call_next)``)
and is testable alone with a fake ``call_next``. :func:`default_chain` lists them
outermost first; :mod:`worker_runtime.execution` composes them around the
handler call::

    Metrics -> Tracing -> DeadLetter -> Decode -> LogContext -> Idempotency
      -> Retry -> Attempts -> Replies -> DataModel -> Timeout -> handler
"""

from worker_runtime.middleware.attempts import Attempts, HandlerLost
from worker_runtime.middleware.base import Middleware, Next, compose
from worker_runtime.middleware.datamodel import DataModel, InvalidEventData
from worker_runtime.middleware.deadletter import DeadLetter
from worker_runtime.middleware.decode import Decode
from worker_runtime.middleware.idempotency import Idempotency
from worker_runtime.middleware.logcontext import LogContext
from worker_runtime.middleware.metrics import Metrics
from worker_runtime.middleware.replies import InvalidReply, Replies
from worker_runtime.middleware.retry import Retrying
from worker_runtime.middleware.timeout import HandlerTimeout, Timeout
from worker_runtime.middleware.tracing import Tracing

__all__ = [
    "Attempts",
    "DataModel",
    "DeadLetter",
    "Decode",
    "HandlerLost",
    "HandlerTimeout",
    "Idempotency",
    "InvalidEventData",
    "InvalidReply",
    "LogContext",
    "Metrics",
    "Middleware",
    "Next",
    "Replies",
    "Retrying",
    "Timeout",
    "Tracing",
    "compose",
]
