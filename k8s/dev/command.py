"""``eventfn dev``: ingress, bridge and autoscaled local workers in one command.

Runs on the embedded broker under the state directory unless ``--broker`` (or
``EVENTFN_BROKER_URL``) names another, with the example functions unless
``--functions``. Prints a banner (ingress URL, broker, each function's
subscriptions, commands to try), then a live table of queue depths, workers,
handled rates and dead letters on a terminal, or plain status log lines every few
seconds otherwise. ``--reload`` (default) restarts the bridge and the workers when
the functions' files change. Ctrl-C stops everything without losing an event; a
second Ctrl-C kills at once. See :mod:`k8s.dev`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from broker_bridge import connection
from broker_bridge.commands.options import broker_option, log_options
from broker_bridge.config import get_settings
from broker_bridge.connection import check_broker
from broker_bridge.logs import configure_logging
from k8s.commands.options import management_option, policy_from_options, policy_options
from k8s.dev import DevOptions, DevServer
from worker_runtime.commands.options import functions_option
from worker_runtime.loading import load_functions

__all__ = ["command"]


@click.command("dev")
@functions_option
@broker_option
@click.option("--host", default=None, help="Address the ingress binds (default: 127.0.0.1).")
@click.option(
    "--port", type=int, default=None, help="Port of the ingress, 0 for a free one (default: 8080)."
)
@click.option(
    "--reload/--no-reload",
    default=True,
    show_default=True,
    help="Restart the bridge and the workers when the functions' files change.",
)
@click.option(
    "--view",
    type=click.Choice(["auto", "live", "plain"]),
    default="auto",
    show_default=True,
    help="live: a table refreshed in place; plain: status log lines every few seconds "
    "when something changed; auto: live when stdout is a terminal.",
)
@click.option(
    "--interval", type=float, default=2.0, show_default=True, help="Autoscaler poll, seconds."
)
@management_option
@policy_options
@log_options
def command(
    functions_module: str,
    broker_url: str | None,
    host: str | None,
    port: int | None,
    reload: bool,
    view: str,
    interval: float,
    management_url: str | None,
    log_format: str | None,
    log_level: str | None,
    **policy: Any,
) -> None:
    """Run the ingress, the bridge and autoscaled workers locally (embedded broker by default).

    POST CloudEvents to the ingress (binary or structured mode); each function's
    workers scale from zero on its queue's depth. Ctrl-C stops everything: the
    ingress drains, workers finish their handlers, nothing accepted is lost.
    """
    settings = get_settings(
        broker_url=broker_url,
        log_format=log_format,
        log_level=log_level,
        ingress_host=host,
        ingress_port=port,
    )
    configure_logging(settings.log_format, settings.log_level)
    scaling = policy_from_options(policy)
    registry = load_functions(functions_module)
    Path(settings.state_dir).mkdir(parents=True, exist_ok=True)
    url = check_broker(settings, connection.broker_url(settings))
    live = view == "live" or (view == "auto" and sys.stdout.isatty())
    options = DevOptions(
        functions_module,
        host=settings.ingress_host,
        port=settings.ingress_port,
        reload=reload,
        live=live,
        policy=scaling,
        interval=interval,
        management_url=management_url,
    )
    server = DevServer(
        options, settings=settings, registry=registry, broker_url=url, console=Console()
    )
    sys.exit(server.run())
