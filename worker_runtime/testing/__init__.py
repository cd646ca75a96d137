"""eventfn's testing kit: harnesses to test functions, processes, waits without sleeps.

Used by eventfn's own tests and by users' tests, mostly through the pytest plugin
(:mod:`worker_runtime.testing.plugin`, fixtures ``eventfn``, ``eventfn_processes``
and ``eventfn_functions``; see docs/testing.md). The harness classes are imported
on first use, so ``from worker_runtime.testing import wait_until`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from worker_runtime.testing.processes import EventfnProcess, ProcessFailed
from worker_runtime.testing.waiting import TimedOut, wait_until

if TYPE_CHECKING:
    from worker_runtime.testing.harness import Harness
    from worker_runtime.testing.inprocess import InProcessHarness
    from worker_runtime.testing.multiprocess import ProcessHarness
    from worker_runtime.testing.records import DeadLetter, Handled

__all__ = [
    "DeadLetter",
    "EventfnProcess",
    "Handled",
    "Harness",
    "InProcessHarness",
    "ProcessFailed",
    "ProcessHarness",
    "TimedOut",
    "wait_until",
]

_LAZY = {
    "DeadLetter": "worker_runtime.testing.records",
    "Handled": "worker_runtime.testing.records",
    "Harness": "worker_runtime.testing.harness",
    "InProcessHarness": "worker_runtime.testing.inprocess",
    "ProcessHarness": "worker_runtime.testing.multiprocess",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib  # noqa: PLC0415 - lazy by design

    return getattr(importlib.import_module(module), name)
