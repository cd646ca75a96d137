"""``eventfn autoscale``: the autoscaler loop, for local worker processes or Deployments.

``--actuator local`` (default) starts and stops ``eventfn worker`` subprocesses on this
machine; ``--actuator kubernetes`` scales the functions' Deployments through the scale
subresource (in-cluster config, else ~/.kube/config). Push activations from the bridge
are consumed unless ``--no-activation``. SIGINT/SIGTERM stop it: local workers finish
their handlers first.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click
import structlog

from broker_bridge import connection
from broker_bridge.commands.options import broker_option, log_options
from broker_bridge.config import get_settings
from broker_bridge.connection import check_broker
from broker_bridge.health import start_health
from broker_bridge.logs import configure_logging
from k8s.commands.options import (
    management_option,
    namespace_option,
    policy_from_options,
    policy_options,
)
from worker_runtime.commands.options import functions_option
from worker_runtime.loading import load_functions

__all__ = ["command"]

log = structlog.get_logger("eventfn.autoscaler")


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


@click.command("autoscale")
@functions_option
@broker_option
@click.option(
    "--actuator",
    type=click.Choice(["local", "kubernetes"]),
    default="local",
    show_default=True,
    help="local: eventfn worker processes here; kubernetes: the functions' Deployments.",
)
@click.option(
    "--interval", type=float, default=2.0, show_default=True, help="Seconds between polls."
)
@click.option(
    "--activation/--no-activation",
    default=True,
    show_default=True,
    help="Consume the bridge's push activations (eventfn.activate).",
)
@click.option(
    "--log-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Local workers log here, one file each (default: to this terminal).",
)
@management_option
@namespace_option
@policy_options
@log_options
def command(
    functions_module: str,
    broker_url: str | None,
    actuator: str,
    interval: float,
    activation: bool,
    log_dir: Path | None,
    management_url: str | None,
    namespace: str,
    log_format: str | None,
    log_level: str | None,
    **policy: Any,
) -> None:
    """Scale each function's workers on its queue's depth (ready + unacked), 0..max."""
    settings = get_settings(broker_url=broker_url, log_format=log_format, log_level=log_level)
    configure_logging(settings.log_format, settings.log_level)
    scaling = policy_from_options(policy)
    registry = load_functions(functions_module)
    url = check_broker(settings, connection.broker_url(settings))
    stop = threading.Event()
    _stop_on_signals(stop)
    if actuator == "local":
        from k8s.dev.autoscaling import LocalAutoscaling  # noqa: PLC0415 - per actuator

        LocalAutoscaling(
            functions_module,
            broker_url=url,
            state_dir=Path(settings.state_dir),
            policy=scaling,
            interval=interval,
            activation=activation,
            management_url=management_url,
            log_dir=log_dir,
            registry=registry,
            settings=settings,
        ).run(stop)
        return
    from k8s.cluster import ClusterAutoscaling  # noqa: PLC0415 - needs the kubernetes client

    health, server = start_health(settings)
    ClusterAutoscaling(
        [spec.name for spec in registry],
        broker_url=url,
        namespace=namespace,
        policy=scaling,
        interval=interval,
        activation=activation,
        management_url=management_url,
        settings=settings,
        health=health,
    ).run(stop)
    if server is not None:
        server.close()
