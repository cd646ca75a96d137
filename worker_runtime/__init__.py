"""eventfn's worker runtime: register plain Python handlers; run them on Celery workers.

Public API::

    from worker_runtime import function, Retry, PermanentError, send
"""

from worker_runtime.decorator import function
from worker_runtime.errors import (
    FunctionLoadError,
    HandlerError,
    PermanentError,
    RegistrationError,
    RetryableError,
    UnknownFunction,
    WorkerError,
)
from worker_runtime.registry import FunctionSpec, Registry, current_registry, use_registry
from worker_runtime.retry import Retry
from worker_runtime.sending import FunctionHandler, send

__all__ = [
    "FunctionHandler",
    "FunctionLoadError",
    "FunctionSpec",
    "HandlerError",
    "PermanentError",
    "RegistrationError",
    "Registry",
    "Retry",
    "RetryableError",
    "UnknownFunction",
    "WorkerError",
    "current_registry",
    "function",
    "send",
    "use_registry",
]
