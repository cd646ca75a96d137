"""``eventfn bridge``: route events from the bridge queue to the functions' queues.

The functions and subscriptions come from a subscription source chosen by name
(``--source``; :mod:`broker_bridge.sources`): the ``python`` registry locally, a
``file``, or ``k8s`` resources in a cluster. A change of the source (file edited,
resource applied) and SIGHUP reload the table between two batches. SIGTERM/SIGINT
stop after the current batch (routed and confirmed, or left unacked for redelivery).
``/healthz`` and ``/readyz`` are served on ``EVENTFN_HEALTH_PORT`` when set: live while
the consume loop turns, ready while it consumes and the source has been read.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import click
import structlog
from prometheus_client import start_http_server

from broker_bridge.bridge import Bridge, BridgeSettings
from broker_bridge.commands.options import (
    broker_option,
    log_options,
    open_source_from,
    source_options,
)
from broker_bridge.config import get_settings
from broker_bridge.connection import check_broker
from broker_bridge.health import start_health
from broker_bridge.logs import configure_logging
from broker_bridge.routing import RoutingTable

__all__ = ["command"]

log = structlog.get_logger("eventfn.bridge")


@click.command("bridge")
@source_options
@click.option("--prefetch", type=int, default=None, help="Unacked input messages held at once.")
@click.option(
    "--unmatched",
    type=click.Choice(["discard", "keep"]),
    default=None,
    help="What to do with events no subscription matches (default: discard, counted).",
)
@click.option("--metrics-port", type=int, default=None, help="Serve Prometheus metrics here.")
@broker_option
@log_options
def command(
    source: str | None,
    functions_module: str | None,
    subscriptions_file: Path | None,
    namespace: str,
    kubeconfig: str | None,
    prefetch: int | None,
    unmatched: str | None,
    metrics_port: int | None,
    broker_url: str | None,
    log_format: str | None,
    log_level: str | None,
) -> None:
    """Run the bridge: consume events, match subscriptions, fan out to function queues."""
    settings = get_settings(broker_url=broker_url, log_format=log_format, log_level=log_level)
    overrides = {"prefetch": prefetch, "unmatched": unmatched, "metrics_port": metrics_port}
    options = BridgeSettings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    configure_logging(settings.log_format, settings.log_level)
    subscriptions = open_source_from(
        source, functions_module, subscriptions_file, namespace, kubeconfig
    )
    health, server = start_health(settings)
    stop_watching = threading.Event()

    def router() -> RoutingTable:
        table = RoutingTable.from_subscriptions(subscriptions.table())
        health.set_ready("subscriptions", subscriptions.ready())
        return table

    router()  # refuse a bad table before connecting
    check_broker(settings)
    bridge = Bridge(settings, router, bridge_settings=options, health=health)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping bridge", signal=signal.Signals(signum).name)
        stop_watching.set()
        bridge.stop()

    def reload(_signum: int, _frame: FrameType | None) -> None:
        bridge.request_reload()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)
    if options.metrics_port is not None:
        start_http_server(options.metrics_port, addr="0.0.0.0")  # noqa: S104 - a pod's port
    threading.Thread(
        target=subscriptions.watch,
        args=(bridge.request_reload, stop_watching),
        name="eventfn-source",
        daemon=True,
    ).start()
    log.info("bridge starting", functions=sorted(subscriptions.functions()))
    try:
        bridge.run()
    finally:
        stop_watching.set()
        if server is not None:
            server.close()
    log.info("bridge stopped", **bridge.stats)
