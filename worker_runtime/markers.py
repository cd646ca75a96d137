"""Write "handler started" markers off the hot path, once a handler has run a while.

:class:`DelayedMarker` keeps one daemon thread per process and a heap of due
times: :meth:`DelayedMarker.schedule` costs a heap push, and the marker reaches
the state store only if the handler is still running ``after`` seconds later.
Handlers that finish sooner (almost all of them) cost no store write at all.
Used by :mod:`worker_runtime.middleware.attempts`.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from dataclasses import dataclass, field

import structlog

from worker_runtime.state.base import StateStore

__all__ = ["DelayedMarker", "Pending"]

log = structlog.get_logger("eventfn.worker")


@dataclass
class Pending:
    """One scheduled marker; :meth:`cancel` it when the handler returns."""

    key: str
    ttl: float
    cancelled: bool = field(default=False)

    def cancel(self) -> None:
        self.cancelled = True


class DelayedMarker:
    """Marks ``key`` in ``store`` after ``after`` seconds unless cancelled first."""

    def __init__(self, store: StateStore, after: float) -> None:
        self.store = store
        self.after = after
        self._heap: list[tuple[float, int, Pending]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._pid = -1

    def schedule(self, key: str, ttl: float) -> Pending:
        pending = Pending(key, ttl)
        if self.after <= 0:
            self.store.mark(key, ttl)
            return pending
        with self._cond:
            if self._pid != os.getpid():  # first use in this (forked) process
                self._heap.clear()
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="eventfn-markers", daemon=True).start()
            # Every marker waits the same ``after``, so a new one is never due before
            # those queued: the thread, asleep until the head is due, needs a wake-up
            # only when the heap was empty (one per idle period, not one per event).
            wake = not self._heap
            heapq.heappush(
                self._heap, (time.monotonic() + self.after, next(self._counter), pending)
            )
            if wake:
                self._cond.notify()
        return pending

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                due, _, pending = self._heap[0]
                wait = due - time.monotonic()
                if wait > 0 and not pending.cancelled:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            if pending.cancelled:
                continue
            try:
                self.store.mark(pending.key, pending.ttl)
            except Exception:  # the marker is best effort; the handler keeps running
                log.warning("could not write the attempt marker", exc_info=True)
