"""eventfn's testing kit: run eventfn processes and wait for outcomes, no sleeps.

Used by eventfn's own tests and by users' tox-driven tests (the pytest plugin
comes on top of these pieces).
"""

from worker_runtime.testing.processes import EventfnProcess, ProcessFailed
from worker_runtime.testing.waiting import TimedOut, wait_until

__all__ = ["EventfnProcess", "ProcessFailed", "TimedOut", "wait_until"]
