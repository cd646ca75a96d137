"""The worker's ``/healthz`` and ``/readyz``: two Celery bootsteps around one Health.

Served from the worker's main process (never from a pool child) on
``EVENTFN_HEALTH_PORT``, by :class:`WorkerHealth`, a worker bootstep started after the
pool (children are forked before the server exists). What the probes test:

* liveness: the main process's event loop (Celery's hub) runs a one-second timer
  that beats; a wedged hub stops beating and ``/healthz`` fails after
  ``EVENTFN_HEALTH_STALE_AFTER`` seconds. While the consumer reconnects to the broker
  the hub does not turn; that is reported as waiting (live, not ready), so a broker
  outage does not restart every worker. Without an event loop (the embedded broker's
  transport is not asynchronous) there is no loop to watch: liveness is the process
  answering.
* readiness: :class:`ConsumerReady`, a consumer bootstep after the task consumer, sets
  ``broker`` ready when the consumer is connected and consuming, and clears it when the
  consumer stops or restarts (connection lost).

Installed by :func:`worker_runtime.app.create_app`.
"""

from __future__ import annotations

from typing import Any

import structlog
from celery import bootsteps

from broker_bridge.health import Health, HealthServer, serve_health

__all__ = ["ConsumerReady", "WorkerHealth", "health_of"]

log = structlog.get_logger("eventfn.worker")

#: Seconds between two beats of the event loop.
BEAT_INTERVAL = 1.0
_LOOP = "worker"


def health_of(app: Any) -> Health:
    """The :class:`Health` ``create_app`` attached to the Celery app."""
    health = app.conf.get("eventfn_health")
    if not isinstance(health, Health):
        raise TypeError("the Celery app was not built by worker_runtime.app.create_app")
    return health


class WorkerHealth(bootsteps.StartStopStep):  # type: ignore[misc]
    """Serves the health endpoints and beats from the hub."""

    requires = ("celery.worker.components:Pool",)
    label = "eventfn health"

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.port = worker.app.conf.get("eventfn_health_port")
        self.server: HealthServer | None = None
        self.tref: Any = None

    def include_if(self, worker: Any) -> bool:
        return self.port is not None

    def start(self, worker: Any) -> None:
        health = health_of(worker.app)
        if worker.use_eventloop and worker.hub is not None:
            health.waiting(_LOOP, "connecting")
            self.tref = worker.hub.call_repeatedly(BEAT_INTERVAL, health.beat, _LOOP)
        self.server = serve_health(health, int(self.port))

    def stop(self, worker: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
        health_of(worker.app).forget(_LOOP)
        if self.server is not None:
            self.server.close()
            self.server = None


class ConsumerReady(bootsteps.StartStopStep):  # type: ignore[misc]
    """Ready while the task consumer is connected and consuming."""

    requires = ("celery.worker.consumer.tasks:Tasks",)
    label = "eventfn readiness"

    def start(self, c: Any) -> None:
        health = health_of(c.app)
        health.set_ready("broker", True)
        if c.hub is not None:
            health.beat(_LOOP)

    def stop(self, c: Any) -> None:
        health = health_of(c.app)
        health.set_ready("broker", False)
        if c.hub is not None:
            health.waiting(_LOOP, "reconnecting to the broker")

    def shutdown(self, c: Any) -> None:
        health_of(c.app).set_ready("broker", False)
