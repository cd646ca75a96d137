"""``eventfn worker FUNCTION``: a Celery worker that runs one function's handler.

Derives the broker ack deadline from the function's timeout (refusing to start on
RabbitMQ when the node's ``consumer_timeout`` is too short), optionally serves
Prometheus metrics (``--metrics-port``; prefork children aggregated through
``PROMETHEUS_MULTIPROC_DIR``) and bounds the warm shutdown (``--shutdown-grace``).
"""

from __future__ import annotations

import os
import tempfile
from urllib.parse import urlsplit

import click
import structlog

from broker_bridge.commands.options import broker_option, log_options
from broker_bridge.config import get_settings
from broker_bridge.connection import broker_url as effective_broker_url
from broker_bridge.connection import check_broker
from broker_bridge.errors import ConfigurationError
from broker_bridge.logs import configure_logging
from worker_runtime.commands.options import functions_option
from worker_runtime.deadlines import (
    ack_deadline,
    hard_timeout,
    prefetch_multiplier,
    rabbitmq_problem,
)
from worker_runtime.loading import load_functions
from worker_runtime.settings import get_worker_settings

__all__ = ["command"]

log = structlog.get_logger("eventfn.worker")


@click.command("worker")
@click.argument("function")
@functions_option
@click.option(
    "--concurrency",
    "-c",
    type=int,
    default=None,
    help="Worker processes/threads (default: the function's concurrency).",
)
@click.option(
    "--pool",
    type=click.Choice(["prefork", "solo", "threads"]),
    default="prefork",
    show_default=True,
    help="Celery execution pool (soft timeouts need prefork or solo; hard ones prefork).",
)
@click.option(
    "--metrics-port",
    type=int,
    default=None,
    help="Serve Prometheus /metrics on this port (EVENTFN_METRICS_PORT).",
)
@click.option(
    "--shutdown-grace",
    type=float,
    default=None,
    help="Seconds in-flight handlers get after SIGTERM before they are requeued "
    "(EVENTFN_SHUTDOWN_GRACE, default 30).",
)
@broker_option
@log_options
def command(
    function: str,
    functions_module: str,
    concurrency: int | None,
    pool: str,
    metrics_port: int | None,
    shutdown_grace: float | None,
    broker_url: str | None,
    log_format: str | None,
    log_level: str | None,
) -> None:
    """Run a Celery worker for FUNCTION (consumes its queue, acks late)."""
    settings = get_settings(broker_url=broker_url, log_format=log_format, log_level=log_level)
    wsettings = get_worker_settings(metrics_port=metrics_port, shutdown_grace=shutdown_grace)
    configure_logging(settings.log_format, settings.log_level)
    spec = load_functions(functions_module).get(function)
    url = effective_broker_url(settings)
    if urlsplit(url).scheme in ("amqp", "pyamqp"):
        problem = rabbitmq_problem(
            spec, wsettings.rabbitmq_consumer_timeout, wsettings.prefetch_multiplier
        )
        if problem:
            raise ConfigurationError(problem)
    check_broker(settings)
    if wsettings.metrics_port is not None and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # must be set before prometheus_client is imported (by the app below)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="eventfn-metrics-")
    from worker_runtime.app import create_app  # noqa: PLC0415 - after the metrics dir is set
    from worker_runtime.metrics import serve_metrics  # noqa: PLC0415 - same reason

    app = create_app(settings, [spec], wsettings)
    if wsettings.metrics_port is not None:
        serve_metrics(wsettings.metrics_port)
    log.info(
        "worker starting",
        function=spec.name,
        timeout=spec.timeout,
        hard_timeout=hard_timeout(spec),
        ack_deadline=ack_deadline(spec, prefetch_multiplier(spec, wsettings.prefetch_multiplier)),
        pool=pool,
    )
    argv = [
        "worker",
        "--queues",
        spec.queue,
        "--concurrency",
        str(concurrency or spec.concurrency),
        "--pool",
        pool,
        "--hostname",
        f"{spec.name}@%h-%i",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        settings.log_level,
    ]
    app.worker_main(argv=argv)
