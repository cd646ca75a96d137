"""``eventfn status``: every function's queue depth, workers, handled rate and dead
letters, once, for any broker (embedded, RabbitMQ, Redis).

Depths come from the broker's metrics source (:func:`k8s.metrics.open_metrics_source`);
workers, handled counts and rates from a running ``eventfn dev`` on the same state
directory and broker (its ``dev/`` files), else the broker's consumer counts where it
has them. The functions shown are ``--functions``' or, when that is not given and an
``eventfn dev`` runs, the ones it runs (nothing is imported then). Exits 0; an
unreachable broker is one line on stderr and exit 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.core import ParameterSource
from rich.console import Console

from broker_bridge import connection
from broker_bridge.commands.options import broker_option, log_options
from broker_bridge.config import get_settings
from broker_bridge.connection import check_broker, mask_url
from broker_bridge.logs import configure_logging
from k8s.commands.options import management_option
from k8s.dev.state import DevState, counters_dir, read_state
from k8s.dev.view import (
    Snapshot,
    SnapshotCollector,
    WatchedFunction,
    render_snapshot,
    snapshot_json,
    watched_functions,
)
from k8s.metrics.sources import open_metrics_source
from worker_runtime.commands.options import functions_option
from worker_runtime.loading import load_functions

__all__ = ["command"]


def _with_dev_rates(snapshot: Snapshot, dev: DevState) -> Snapshot:
    rows = []
    for row in snapshot.functions:
        live = dev.functions.get(row.name)
        rate = live.handled_per_second if live is not None else None
        rows.append(row.model_copy(update={"handled_per_second": rate}))
    return snapshot.model_copy(update={"functions": tuple(rows)})


@click.command("status")
@functions_option
@broker_option
@management_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead.")
@log_options
def command(
    functions_module: str,
    broker_url: str | None,
    management_url: str | None,
    as_json: bool,
    log_format: str | None,
    log_level: str | None,
) -> None:
    """Show each function's queue (ready, unacked), workers, handled rate, dead letters."""
    settings = get_settings(broker_url=broker_url, log_format=log_format, log_level=log_level)
    configure_logging(settings.log_format, settings.log_level)
    url = check_broker(settings, connection.broker_url(settings))
    state_dir = Path(settings.state_dir)
    dev = read_state(state_dir)
    if dev is not None and dev.broker != mask_url(url):
        dev = None  # an eventfn dev on this state directory, but another broker
    given = click.get_current_context().get_parameter_source("functions_module")
    functions: list[WatchedFunction]
    if dev is not None and given is ParameterSource.DEFAULT:
        functions = [WatchedFunction(name, f.subscriptions) for name, f in dev.functions.items()]
    else:
        functions = watched_functions(load_functions(functions_module))
    source = open_metrics_source(url, management_url)
    try:
        collector = SnapshotCollector(
            functions,
            source,
            url,
            counters_dir=counters_dir(state_dir) if dev is not None else None,
            workers=(lambda name: _dev_workers(dev, name)) if dev is not None else None,
        )
        snapshot = collector.collect(strict=True)
    finally:
        source.close()
    if dev is not None:
        snapshot = _with_dev_rates(snapshot, dev)
    if as_json:
        document = snapshot_json(snapshot)
        document["dev"] = (
            None
            if dev is None
            else {"pid": dev.pid, "ingress": dev.ingress, "functions": dev.functions_module}
        )
        click.echo(json.dumps(document))
        return
    console = Console()
    console.print(render_snapshot(snapshot, title="eventfn status", legend=True))
    if dev is not None:
        console.print(f"eventfn dev (pid {dev.pid}) serves {dev.ingress}")
    else:
        console.print("no eventfn dev runs on this state directory and broker", style="dim")


def _dev_workers(dev: DevState, name: str) -> tuple[int, int] | None:
    live = dev.functions.get(name)
    return None if live is None else (live.workers, live.busy)
