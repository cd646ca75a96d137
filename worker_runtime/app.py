"""The Celery app factory: JSON only, late acks, one queue per function.

``create_app`` is called by ``eventfn worker`` (and by tests); it registers one
Celery task per function whose body is a thin shell around
:func:`worker_runtime.execution.execute`. Handlers never see Celery.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import structlog
from celery import Celery
from celery.signals import setup_logging
from kombu import Queue

from broker_bridge import topology
from broker_bridge.config import Settings
from broker_bridge.connection import broker_url, transport_options
from broker_bridge.logs import configure_logging
from worker_runtime.deadletter import dead_letter_headers, from_exception
from worker_runtime.execution import Outcome, execute
from worker_runtime.registry import FunctionSpec

__all__ = ["create_app"]

log = structlog.get_logger("eventfn.worker")


@setup_logging.connect  # type: ignore[untyped-decorator]
def _keep_our_logging(**_: Any) -> None:
    """Connected so Celery leaves the process's (structlog) logging alone."""


def create_app(settings: Settings, functions: Iterable[FunctionSpec]) -> Celery:
    """A Celery app that can run ``functions`` (and consumes their queues)."""
    configure_logging(settings.log_format, settings.log_level)
    specs = list(functions)
    url = broker_url(settings)
    app = Celery("eventfn", broker=url, set_as_current=False)
    app.conf.update(
        broker_transport_options=transport_options(settings, url),
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=settings.connect_timeout,
        task_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        event_serializer="json",
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_queues=[topology.function_queue(spec.name) for spec in specs],
        task_create_missing_queues=False,
        worker_enable_remote_control=False,
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    for spec in specs:
        _register_task(app, spec)
    return app


def _register_task(app: Celery, spec: FunctionSpec) -> None:
    dlq = Queue(
        spec.dead_letter_queue, exchange="", routing_key=spec.dead_letter_queue, durable=True
    )

    def run(event_json: str) -> None:
        result = execute(spec, event_json)
        if result.outcome is Outcome.FAILED and result.error is not None:
            letter = from_exception(spec.name, result.error, attempts=1)
            with app.producer_or_acquire() as producer:
                producer.publish(
                    event_json.encode(),
                    exchange="",
                    routing_key=spec.dead_letter_queue,
                    declare=[dlq],
                    content_type="application/cloudevents+json",
                    content_encoding="utf-8",
                    headers=dead_letter_headers(letter),
                    delivery_mode=2,
                    retry=True,
                )

    run.__name__ = f"run_{spec.name.replace('-', '_')}"
    app.task(name=topology.task_name(spec.name), acks_late=True)(run)
