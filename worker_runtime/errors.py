"""The exception tree of ``worker_runtime``::

EventfnError                          (broker_bridge.errors)
└── WorkerError
    ├── RegistrationError (ValueError)   invalid @function options, duplicate names
    ├── UnknownFunction (LookupError)    no function of that name is registered
    ├── FunctionLoadError (ImportError)  a --functions module cannot be imported
    └── HandlerError                     what a handler raises to signal intent:
        ├── PermanentError               do not retry: dead-letter at once
        └── RetryableError               retry with the function's backoff policy
"""

from __future__ import annotations

from broker_bridge.errors import EventfnError

__all__ = [
    "FunctionLoadError",
    "HandlerError",
    "PermanentError",
    "RegistrationError",
    "RetryableError",
    "UnknownFunction",
    "WorkerError",
]


class WorkerError(EventfnError):
    """Base of the errors raised by ``worker_runtime``."""


class RegistrationError(WorkerError, ValueError):
    """A function cannot be registered (bad option, duplicate name)."""


class UnknownFunction(WorkerError, LookupError):
    """No function with this name is registered."""

    def __init__(self, name: str, known: list[str] | None = None) -> None:
        self.name = name
        hint = f"; known: {', '.join(sorted(known))}" if known else ""
        super().__init__(f"unknown function {name!r}{hint}")


class FunctionLoadError(WorkerError, ImportError):
    """A functions module or file could not be loaded."""


class HandlerError(WorkerError):
    """Base of the errors a handler raises to tell the runtime what to do next."""


class PermanentError(HandlerError):
    """The event can never succeed: dead-letter it without retrying."""


class RetryableError(HandlerError):
    """A transient failure: retry with the function's backoff policy."""
