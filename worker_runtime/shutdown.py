"""Graceful shutdown with a deadline: what a Kubernetes pod gets on scale-down.

Celery's warm shutdown (SIGTERM) stops consuming at once, lets running handlers
finish, acks them, and returns unstarted prefetched messages to the broker; but
it waits for ever. This bootstep bounds it: ``grace`` seconds after the warm
shutdown began, it escalates to Celery's cold shutdown (SIGQUIT), which cancels
the handlers still running; their unacked messages are requeued (late acks) and
run again elsewhere, counted as an attempt (:mod:`.middleware.attempts`).
Installed by :func:`worker_runtime.app.create_app` (``EVENTFN_SHUTDOWN_GRACE``).

:class:`FinishHandedOver` fixes a race in that warm shutdown (prefork pool on the
event loop, Celery 5.7): a message written to a pool process just before SIGTERM,
whose "started" notice the event loop had not read yet, was dropped from the
pool's job cache by ``AsynPool.flush()`` (``Consumer.on_close``, celery/celery#6863)
although the process still ran it. ``Pool.join()`` then stopped reading the
processes' result pipes (it reads only while the cache holds jobs): the handler's
ack was never sent, so the message was restored to the queue and handled twice,
and each process waited 30 s (billiard's ``_ensure_messages_consumed``) for its
results to be read, which ran the grace out.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import Any

import structlog
from billiard.pool import RUN
from celery import bootsteps
from celery.signals import worker_shutting_down
from celery.worker import state as worker_state

__all__ = ["FinishHandedOver", "ShutdownGrace", "escalate_after", "flush_keeping_handed_over"]

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


def flush_keeping_handed_over(pool: Any, flush: Callable[[], Any]) -> Any:
    """``AsynPool.flush()`` that, in a warm shutdown, keeps the jobs handed to a process.

    ``pool`` is the Celery ``AsynPool``, ``flush`` its own ``flush``. While the pool
    runs (a broker connection was lost) or in a cold shutdown this is Celery's
    flush. Once the pool is closed for a warm shutdown, a job written (or being
    written) to a live process stays in the job cache, its write finished, because
    the process will run it: ``Pool.join()`` then reads its result and the message
    is acked. Jobs never written are dropped as before; their messages stay unacked
    and go back to the queue when the connection closes. Should the pool's
    internals differ (another Celery version), this falls back to Celery's flush.
    """
    if pool._state == RUN or worker_state.should_terminate:
        return flush()
    handed: dict[Any, Any] = {}
    try:
        handed = {
            key: job
            for key, job in tuple(pool._cache.items())
            if not job._accepted and job._write_to is not None and job._write_to._is_alive()
        }
        writers = {}
        for job in handed.values():
            ref = getattr(job, "_writer", None)  # a weakref to the write generator
            if ref is not None and (writer := ref()) is not None:
                writers[writer] = job
        for writer in tuple(pool._active_writers):
            job = writers.get(writer)
            if job is not None:  # partly written: finish it, or the process reads garbage
                pool._flush_writer(job._write_to, writer)
        for key in handed:
            pool._cache.pop(key, None)
    except Exception:
        log.exception("cannot keep the jobs handed to pool processes; Celery's flush")
        pool._cache.update(handed)
        handed = {}
    try:
        return flush()
    finally:
        pool._cache.update(handed)
        if handed:
            log.info("warm shutdown: waiting for handlers already handed over", jobs=len(handed))


class FinishHandedOver(bootsteps.StartStopStep):  # type: ignore[misc]
    """Wraps the prefork pool's ``flush`` with :func:`flush_keeping_handed_over`."""

    requires = ("celery.worker.components:Pool",)
    label = "eventfn finish handed-over jobs"

    def start(self, worker: Any) -> None:
        task_pool = worker.pool
        pool = getattr(task_pool, "_pool", None)
        flush = getattr(task_pool, "flush", None)
        if flush is None or not hasattr(pool, "_active_writers"):
            return  # solo/threads pools, or prefork without the event loop
        task_pool.flush = lambda: flush_keeping_handed_over(pool, flush)
