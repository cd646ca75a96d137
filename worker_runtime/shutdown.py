"""Graceful shutdown with a deadline: what a Kubernetes pod gets on scale-down.

Celery's warm shutdown (SIGTERM) stops consuming at once, lets running handlers
finish, acks them, and returns unstarted prefetched messages to the broker; but
it waits for ever. This bootstep bounds it: ``grace`` seconds after the warm
shutdown began, it escalates to Celery's cold shutdown (SIGQUIT), which cancels
the handlers still running; their unacked messages are requeued (late acks) and
run again elsewhere, counted as an attempt (:mod:`.middleware.attempts`).
Installed by :func:`worker_runtime.app.create_app` (``EVENTFN_SHUTDOWN_GRACE``).
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import structlog
from celery import bootsteps
from celery.signals import worker_shutting_down

__all__ = ["ShutdownGrace", "escalate_after"]

log = structlog.get_logger("eventfn.worker")

#: After the cold shutdown was asked for, how long before asking again (hard exit).
HARD_AFTER = 10.0


def escalate_after(grace: float, pid: int | None = None) -> threading.Timer:
    """Start a daemon timer that sends SIGQUIT to ``pid`` after ``grace`` s, twice."""
    target = pid or os.getpid()

    def cold() -> None:
        log.warning("shutdown grace period over; requeueing unfinished handlers", grace=grace)
        os.kill(target, signal.SIGQUIT)
        hard = threading.Timer(HARD_AFTER, os.kill, args=(target, signal.SIGQUIT))
        hard.daemon = True
        hard.start()

    timer = threading.Timer(grace, cold)
    timer.daemon = True
    timer.start()
    return timer


class ShutdownGrace(bootsteps.StartStopStep):  # type: ignore[misc]
    """On a warm shutdown, escalate to a cold one after ``eventfn_shutdown_grace`` s."""

    label = "eventfn shutdown grace"

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.grace = float(worker.app.conf.get("eventfn_shutdown_grace") or 0.0)
        self.timer: threading.Timer | None = None
        self.pid = os.getpid()

    def start(self, worker: Any) -> None:
        worker_shutting_down.connect(self._on_shutdown, weak=False, dispatch_uid="eventfn-grace")

    def _on_shutdown(self, sig: str = "", how: str = "", **_: Any) -> None:
        if how != "Warm" or self.timer is not None or os.getpid() != self.pid:
            return
        log.info("warm shutdown: finishing in-flight handlers", signal=sig, grace=self.grace)
        self.timer = escalate_after(self.grace, self.pid)

    def stop(self, worker: Any) -> None:
        if self.timer is not None:
            self.timer.cancel()
