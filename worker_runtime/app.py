"""The Celery app factory: JSON only, late acks, one queue and one task per function.

``create_app`` is called by ``eventfn worker`` (and by tests). Each function gets
one Celery task (``eventfn.fn.NAME``) whose body is a thin shell: it reads the
delivery off the message (attempt header, redelivered flag) and hands it to the
function's :class:`~worker_runtime.execution.Pipeline`, built once per worker
process. Handlers never see Celery. The task acks when the pipeline returns (the
event was handled, retried, dead-lettered or skipped; any publish confirmed);
an infrastructure failure (broker or state store down) requeues the message.
Hard timeouts are Celery's ``time_limit`` with ``acks_on_timeout=False``: the
pool process is replaced and the message requeued.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from celery import Celery
from celery.exceptions import Reject
from celery.signals import setup_logging, worker_process_shutdown, worker_ready

from broker_bridge import topology
from broker_bridge.config import Settings
from broker_bridge.connection import broker_url, transport_options
from broker_bridge.health import Health
from broker_bridge.limits import MessageLimits
from broker_bridge.logs import configure_logging
from broker_bridge.tracing import flush_tracing, messaging_system
from worker_runtime.context import Delivery
from worker_runtime.deadlines import hard_timeout, prefetch_multiplier, transport_overrides
from worker_runtime.execution import Pipeline, build_pipeline
from worker_runtime.hub import HubWakeup
from worker_runtime.metrics import WorkerMetrics, default_metrics
from worker_runtime.probes import ConsumerReady, WorkerHealth
from worker_runtime.publishing import KombuOutbox
from worker_runtime.recording import JsonLinesRecorder, with_recording
from worker_runtime.registry import FunctionSpec
from worker_runtime.settings import WorkerSettings
from worker_runtime.shutdown import FinishHandedOver, ShutdownGrace
from worker_runtime.state import StateStore, open_store, store_url_for

__all__ = ["create_app", "delivery_from_request"]

log = structlog.get_logger("eventfn.worker")

#: Write attempt markers only for handlers still running after this long (see
#: worker_runtime.markers): a store write per message costs 30-200 us. Not on the
#: embedded broker, whose non-event-loop pool stopped replacing a process killed at
#: its hard timeout when the marker thread ran in it (billiard; to investigate).
MARK_AFTER = 0.05

#: Pause before requeueing after an infrastructure failure (no hot redelivery loop).
INFRA_BACKOFF = 1.0


@setup_logging.connect  # type: ignore[untyped-decorator]
def _keep_our_logging(**_: Any) -> None:
    """Connected so Celery leaves the process's (structlog) logging alone."""


@worker_process_shutdown.connect  # type: ignore[untyped-decorator]
def _flush_spans(**_: Any) -> None:
    """A prefork child exports its buffered spans before it exits."""
    flush_tracing()


def delivery_from_request(spec: FunctionSpec, event_json: str, request: Any) -> Delivery:
    """The :class:`Delivery` of a Celery task request (headers become attributes)."""
    info = getattr(request, "delivery_info", None) or {}
    return Delivery(
        spec=spec,
        body=event_json,
        task_id=str(request.id),
        attempt=int(getattr(request, "eventfn_attempt", None) or 1),
        redelivered=bool(info.get("redelivered")),
        first_failure=getattr(request, "eventfn_first_failure", None),
        defers=int(getattr(request, "eventfn_defers", None) or 0),
        previous_span=getattr(request, "eventfn_previous_span", None),
    )


class _PerProcess:
    """Builds the pipelines (state store connection, outbox) once per process:
    prefork children must not share a parent's sockets."""

    def __init__(self, factory: Callable[[], tuple[StateStore, dict[str, Pipeline]]]) -> None:
        self._factory = factory
        self._pid = -1
        self._pipelines: dict[str, Pipeline] = {}
        self._lock = threading.Lock()

    def pipeline(self, name: str) -> Pipeline:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    _, self._pipelines = self._factory()
                    self._pid = os.getpid()
        return self._pipelines[name]


def create_app(
    settings: Settings,
    functions: Iterable[FunctionSpec],
    worker_settings: WorkerSettings | None = None,
    *,
    metrics: WorkerMetrics | None = None,
) -> Celery:
    """A Celery app that can run ``functions`` (and consumes their queues)."""
    configure_logging(settings.log_format, settings.log_level)
    wsettings = worker_settings or WorkerSettings()
    specs = list(functions)
    url = broker_url(settings)
    multiplier = min(
        (prefetch_multiplier(spec, wsettings.prefetch_multiplier) for spec in specs), default=1
    )
    options = transport_overrides(
        url, transport_options(settings, url), specs, wsettings.prefetch_multiplier
    )
    app = Celery("eventfn", broker=url, set_as_current=False)
    app.conf.update(
        broker_transport_options=options,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=settings.connect_timeout,
        # RabbitMQ: the worker's connections send and expect heartbeats (Celery's hub
        # ticks them); a silent broker is a lost connection within two intervals
        broker_heartbeat=settings.broker_heartbeat,
        task_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        event_serializer="json",
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=multiplier,
        task_queues=[topology.function_queue(spec.name) for spec in specs],
        task_create_missing_queues=False,
        worker_enable_remote_control=False,
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        eventfn_hub_wakeup_interval=wsettings.hub_wakeup_interval,
        eventfn_shutdown_grace=wsettings.shutdown_grace,
        eventfn_health=Health(stale_after=settings.health_stale_after),
        eventfn_health_port=settings.health_port,
    )
    app.steps["worker"].add(HubWakeup)
    app.steps["worker"].add(WorkerHealth)
    app.steps["consumer"].add(ConsumerReady)
    app.steps["worker"].add(ShutdownGrace)
    app.steps["worker"].add(FinishHandedOver)
    store_url = store_url_for(wsettings.state_url, url, settings.state_dir)

    mark_after = 0.0 if url.startswith("sqlite") else MARK_AFTER
    recorder = JsonLinesRecorder(wsettings.record_file) if wsettings.record_file else None

    def build() -> tuple[StateStore, dict[str, Pipeline]]:
        store = open_store(store_url)
        outbox = KombuOutbox(
            app, MessageLimits(settings.broker_frame_max, settings.broker_max_message)
        )
        pipelines = {
            spec.name: with_recording(
                build_pipeline(
                    spec,
                    outbox=outbox,
                    store=store,
                    metrics=metrics or default_metrics(),
                    idempotency_ttl=wsettings.idempotency_ttl,
                    attempt_marker_ttl=wsettings.attempt_marker_ttl,
                    attempt_mark_after=mark_after,
                    messaging_system=messaging_system(url),
                ),
                recorder,
            )
            for spec in specs
        }
        return store, pipelines

    per_process = _PerProcess(build)
    for spec in specs:
        _register_task(app, spec, per_process)

    def ready(sender: Any = None, **_: Any) -> None:
        """Consuming: the in-flight gauge reads zero (the local actuator's "ready")."""
        if getattr(sender, "app", None) is app:
            gauge = (metrics or default_metrics()).in_flight
            for spec in specs:
                gauge.labels(spec.name).set(0)

    worker_ready.connect(ready, weak=False)
    return app


def _register_task(app: Celery, spec: FunctionSpec, per_process: _PerProcess) -> None:
    def run(task: Any, event_json: str) -> None:
        delivery = delivery_from_request(spec, event_json, task.request)
        try:
            per_process.pipeline(spec.name).run(delivery)
        except Exception as exc:  # broker or state store trouble: keep the message
            log.exception("infrastructure failure; requeueing", function=spec.name)
            time.sleep(INFRA_BACKOFF)
            raise Reject(str(exc), requeue=True) from exc

    run.__name__ = f"run_{spec.name.replace('-', '_')}"
    app.task(
        name=topology.task_name(spec.name),
        bind=True,
        acks_late=True,
        acks_on_timeout=False,
        reject_on_worker_lost=True,
        time_limit=hard_timeout(spec),
        max_retries=0,
    )(run)
