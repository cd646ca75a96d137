"""``eventfn bridge``: route events from the bridge queue to the loaded functions."""

from __future__ import annotations

import signal
from types import FrameType

import click
import structlog

from broker_bridge.bridge import Bridge
from broker_bridge.commands.options import broker_option, log_options
from broker_bridge.config import get_settings
from broker_bridge.connection import check_broker
from broker_bridge.logs import configure_logging
from worker_runtime.commands.options import functions_option
from worker_runtime.loading import load_functions
from worker_runtime.subscriptions import router_for

__all__ = ["command"]

log = structlog.get_logger("eventfn.bridge")


@click.command("bridge")
@functions_option
@click.option("--prefetch", type=int, default=None, help="Unacked input messages held at once.")
@broker_option
@log_options
def command(
    functions_module: str,
    prefetch: int | None,
    broker_url: str | None,
    log_format: str | None,
    log_level: str | None,
) -> None:
    """Run the bridge: consume events, match subscriptions, fan out to function queues."""
    settings = get_settings(
        broker_url=broker_url,
        log_format=log_format,
        log_level=log_level,
        bridge_prefetch=prefetch,
    )
    configure_logging(settings.log_format, settings.log_level)
    registry = load_functions(functions_module)
    check_broker(settings)
    bridge = Bridge(settings, router_for(registry))

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping bridge", signal=signal.Signals(signum).name)
        bridge.should_stop = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("bridge starting", functions=registry.names())
    bridge.run()
    log.info("bridge stopped", routed=bridge.stats.routed, unmatched=bridge.stats.unmatched)
