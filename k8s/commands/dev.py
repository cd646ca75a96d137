"""``eventfn dev``: the bridge and one worker per function on this machine (first cut).

Starts ``eventfn bridge`` and ``eventfn worker NAME`` subprocesses on the embedded
broker (or ``--broker``), prints a banner, restarts a process that dies, and stops
everything with SIGTERM on Ctrl-C: workers finish their handlers and requeue what
they prefetched, so nothing is lost.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType

import click

from broker_bridge import connection
from broker_bridge.commands.options import broker_option, log_options
from broker_bridge.config import get_settings
from broker_bridge.connection import check_broker, mask_url
from broker_bridge.logs import configure_logging
from worker_runtime.commands.options import functions_option
from worker_runtime.loading import load_functions

__all__ = ["command"]

_EVENTFN = [sys.executable, "-c", "from broker_bridge.cli import main; main()"]
_RESTART_DELAY = 2.0


def _banner(url: str, functions: list[tuple[str, list[str]]]) -> str:
    lines = ["", "eventfn dev", f"  broker     {mask_url(url)}"]
    for name, subs in functions:
        lines.append(f"  function   {name}  <- {', '.join(subs) or '(no subscriptions)'}")
    lines += [
        "",
        "  publish:   eventfn publish --type com.example.order.created "
        '--data \'{"id": 1, "total": 9.5}\'',
        "  stop:      Ctrl-C",
        "",
    ]
    return "\n".join(lines)


@click.command("dev")
@functions_option
@broker_option
@log_options
def command(
    functions_module: str,
    broker_url: str | None,
    log_format: str | None,
    log_level: str | None,
) -> None:
    """Run the bridge and a worker per function locally (embedded broker by default)."""
    settings = get_settings(broker_url=broker_url, log_format=log_format, log_level=log_level)
    configure_logging(settings.log_format, settings.log_level)
    registry = load_functions(functions_module)
    url = check_broker(settings, connection.broker_url(settings))
    env = {**os.environ, "EVENTFN_BROKER_URL": url}
    common = ["--functions", functions_module]
    commands = {"bridge": ["bridge", *common]}
    for spec in registry:
        commands[f"worker:{spec.name}"] = ["worker", spec.name, *common]
    click.echo(
        _banner(url, [(s.name, [str(dict(f)) for f in s.subscribe]) for s in registry]), err=True
    )
    procs: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for name, args in commands.items():
        procs[name] = subprocess.Popen([*_EVENTFN, *args], env=env, start_new_session=True)
    try:
        while not stopping:
            time.sleep(0.2)
            for name, proc in list(procs.items()):
                if proc.poll() is not None and not stopping:
                    click.echo(f"{name} exited with {proc.returncode}; restarting", err=True)
                    time.sleep(_RESTART_DELAY)
                    procs[name] = subprocess.Popen(
                        [*_EVENTFN, *commands[name]], env=env, start_new_session=True
                    )
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        click.echo("eventfn dev stopped", err=True)
