"""``eventfn ingress``: the HTTP ingress, with ``POST /functions/NAME`` for known functions.

The functions come from the same subscription source as the bridge's (``--source``;
:mod:`broker_bridge.sources`): the ``python`` registry locally, ``k8s`` Function
resources (watched) in a cluster. ``/healthz`` and ``/readyz`` are on the ingress's own
HTTP port (``broker_bridge.ingress``).
"""

from __future__ import annotations

import threading
from pathlib import Path

import click
import structlog

from broker_bridge.commands.options import (
    broker_option,
    log_options,
    open_source_from,
    source_options,
)
from broker_bridge.config import get_settings
from broker_bridge.ingress import serve
from broker_bridge.logs import configure_logging

__all__ = ["command"]

log = structlog.get_logger("eventfn.ingress")


@click.command("ingress")
@source_options
@click.option("--host", default=None, help="Address to bind (default: EVENTFN_INGRESS_HOST).")
@click.option("--port", type=int, default=None, help="Port to bind, 0 for any (default: 8080).")
@click.option(
    "--max-body",
    type=int,
    default=None,
    help="Largest request body in bytes (default: EVENTFN_INGRESS_MAX_BODY, 1 MiB).",
)
@click.option(
    "--connections",
    type=int,
    default=None,
    help="Broker connections used to publish in parallel (default: 8).",
)
@click.option(
    "--graceful-timeout",
    type=float,
    default=None,
    help="Seconds to let in-flight requests finish on SIGTERM (default: 30).",
)
@broker_option
@log_options
def command(
    source: str | None,
    functions_module: str | None,
    subscriptions_file: Path | None,
    namespace: str,
    kubeconfig: str | None,
    host: str | None,
    port: int | None,
    max_body: int | None,
    connections: int | None,
    graceful_timeout: float | None,
    broker_url: str | None,
    log_format: str | None,
    log_level: str | None,
) -> None:
    """Run the HTTP ingress: POST CloudEvents (binary, structured, batch) to the bridge.

    A request is answered 202 only after the broker confirmed its events. Set
    EVENTFN_INGRESS_TOKEN to require 'Authorization: Bearer <token>'.
    """
    settings = get_settings(
        broker_url=broker_url,
        log_format=log_format,
        log_level=log_level,
        ingress_host=host,
        ingress_port=port,
        ingress_max_body=max_body,
        ingress_connections=connections,
        ingress_graceful_timeout=graceful_timeout,
    )
    configure_logging(settings.log_format, settings.log_level)
    functions = open_source_from(
        source, functions_module, subscriptions_file, namespace, kubeconfig, needs="functions"
    )
    stop = threading.Event()
    threading.Thread(
        target=functions.watch, args=(lambda: None, stop), name="eventfn-source", daemon=True
    ).start()
    log.info("ingress starting", functions=sorted(functions.functions()))
    try:
        serve(settings, functions=functions.has_function)
    finally:
        stop.set()
