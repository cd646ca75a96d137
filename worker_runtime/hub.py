"""A worker bootstep that wakes the event loop every few milliseconds.

With ``acks_late``, Celery 5.7 / kombu 5.7 workers defer some acks (and the next
message fetch) to callbacks that only run on the event loop's next turn; when
the loop is blocked in ``epoll`` those wait until some timer fires, up to a
heartbeat interval (celery/celery#7718, celery/kombu#1587), or 5-10 s with
``--without-heartbeat``. A repeating no-op timer bounds every poll, so the loop
turns at least every ``interval`` seconds. Installed by
:func:`worker_runtime.app.create_app` (``EVENTFN_HUB_WAKEUP_INTERVAL``, 0 disables).
"""

from __future__ import annotations

from typing import Any

from celery import bootsteps

__all__ = ["HubWakeup"]


def _wake() -> None:
    """The timer's callback: nothing; firing is what bounds the poll."""


class HubWakeup(bootsteps.StartStopStep):  # type: ignore[misc]
    """Repeating ``interval``-second no-op timer on the worker's hub."""

    requires = ("celery.worker.components:Hub",)
    label = "eventfn hub wake-up"

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.interval = float(worker.app.conf.get("eventfn_hub_wakeup_interval") or 0.0)
        self.tref: Any = None

    def include_if(self, worker: Any) -> bool:
        return bool(worker.use_eventloop) and self.interval > 0

    def start(self, worker: Any) -> None:
        if worker.hub is not None:
            self.tref = worker.hub.call_repeatedly(self.interval, _wake)

    def stop(self, worker: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
