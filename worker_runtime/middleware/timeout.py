"""The soft timeout: :class:`HandlerTimeout` is raised inside a handler that overruns.

Sync handlers running in the process's main thread (the prefork and solo pools)
get a ``SIGALRM`` interval timer; async handlers run under ``asyncio.wait_for``
(the execution core reads ``invocation.extras["timeout"]``). A soft timeout is a
retryable failure. The hard timeout (the process is replaced) is Celery's
``time_limit`` (see :mod:`worker_runtime.deadlines`). The threads pool cannot
interrupt a thread: it gets no soft timeout.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

from worker_runtime.context import Invocation, Outcome, Result
from worker_runtime.errors import RetryableError
from worker_runtime.middleware.base import Middleware, Next

__all__ = ["HandlerTimeout", "Timeout"]


class HandlerTimeout(RetryableError, TimeoutError):
    """The handler ran past its function's ``timeout`` (a retryable failure)."""

    def __init__(self, function: str, timeout: float) -> None:
        self.function = function
        self.timeout = timeout
        super().__init__(f"handler of {function!r} exceeded its timeout of {timeout:g}s")


class Timeout(Middleware):
    def __call__(self, invocation: Invocation, call_next: Next) -> Result:
        spec = invocation.spec
        if spec.is_async:
            invocation.extras["timeout"] = spec.timeout
            return call_next(invocation)
        if threading.current_thread() is not threading.main_thread():
            return call_next(invocation)
        # One SIGALRM handler per process, installed on first use; per event only the
        # interval timer is armed and disarmed (two system calls, no handler swaps).
        _install_alarm()
        _ARMED.append((spec.name, spec.timeout))
        signal.setitimer(signal.ITIMER_REAL, spec.timeout)
        try:
            result = call_next(invocation)
        except HandlerTimeout as exc:  # fired after the handler returned, before disarming
            result = Result(Outcome.FAILED, error=exc)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            _ARMED.pop()
        return result


#: (function, timeout) of the handler whose timer is armed in this process, if any
_ARMED: list[tuple[str, float]] = []


def _expire(_signum: int, _frame: FrameType | None) -> None:
    if _ARMED:
        function, timeout = _ARMED[-1]
        raise HandlerTimeout(function, timeout)


_INSTALLED_IN: list[int] = [0]  # the pid whose SIGALRM handler is _expire


def _install_alarm() -> None:
    pid = os.getpid()
    if _INSTALLED_IN[0] != pid:
        signal.signal(signal.SIGALRM, _expire)
        _INSTALLED_IN[0] = pid
