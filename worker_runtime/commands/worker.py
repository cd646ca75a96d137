"""``eventfn worker FUNCTION``: a Celery worker that runs one function's handler."""

from __future__ import annotations

import click

from broker_bridge.commands.options import broker_option, log_options
from broker_bridge.config import get_settings
from broker_bridge.connection import check_broker
from worker_runtime.app import create_app
from worker_runtime.commands.options import functions_option
from worker_runtime.loading import load_functions

__all__ = ["command"]


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
    help="Celery execution pool.",
)
@broker_option
@log_options
def command(
    function: str,
    functions_module: str,
    concurrency: int | None,
    pool: str,
    broker_url: str | None,
    log_format: str | None,
    log_level: str | None,
) -> None:
    """Run a Celery worker for FUNCTION (consumes its queue, acks late)."""
    settings = get_settings(broker_url=broker_url, log_format=log_format, log_level=log_level)
    spec = load_functions(functions_module).get(function)
    check_broker(settings)
    app = create_app(settings, [spec])
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
