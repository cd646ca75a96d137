"""``eventfn bridge``: route events from the bridge queue to the loaded functions.

SIGTERM/SIGINT stop after the current batch (routed and confirmed, or left
unacked for redelivery); SIGHUP, or a change of ``--subscriptions FILE``, reloads
the subscription table between two batches.
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
from broker_bridge.commands.options import broker_option, log_options
from broker_bridge.config import get_settings
from broker_bridge.connection import check_broker
from broker_bridge.logs import configure_logging
from worker_runtime.commands.options import functions_option
from worker_runtime.loading import load_functions
from worker_runtime.subscriptions import router_for, router_source

__all__ = ["command"]

log = structlog.get_logger("eventfn.bridge")

_WATCH_INTERVAL = 1.0


def _watch(path: Path, bridge: Bridge) -> None:
    """Ask for a reload whenever the file's modification time changes."""
    last = path.stat().st_mtime_ns
    while not bridge.stopping:
        threading.Event().wait(_WATCH_INTERVAL)
        try:
            current = path.stat().st_mtime_ns
        except FileNotFoundError:
            continue
        if current != last:
            last = current
            log.info("subscriptions file changed", path=str(path))
            bridge.request_reload()


@click.command("bridge")
@functions_option
@click.option(
    "--subscriptions",
    "subscriptions_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="YAML subscription table to use instead of the functions' own subscribe=[...]; "
    "reloaded when it changes.",
)
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
    functions_module: str,
    subscriptions_file: Path | None,
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
    registry = load_functions(functions_module)
    router_for(registry, subscriptions_file)  # refuse a bad table before connecting
    check_broker(settings)
    bridge = Bridge(settings, router_source(registry, subscriptions_file), bridge_settings=options)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping bridge", signal=signal.Signals(signum).name)
        bridge.stop()

    def reload(_signum: int, _frame: FrameType | None) -> None:
        bridge.request_reload()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)
    if options.metrics_port is not None:
        start_http_server(options.metrics_port, addr="0.0.0.0")  # noqa: S104 - a pod's port
    if subscriptions_file is not None:
        threading.Thread(target=_watch, args=(subscriptions_file, bridge), daemon=True).start()
    log.info("bridge starting", functions=registry.names())
    bridge.run()
    log.info("bridge stopped", **bridge.stats)
