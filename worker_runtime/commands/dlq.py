"""``eventfn dlq list|replay|purge FUNCTION``: inspect and drain dead-letter queues."""

from __future__ import annotations

import json

import click

from broker_bridge.commands.options import broker_option, log_options
from broker_bridge.config import Settings, get_settings
from broker_bridge.logs import configure_logging
from worker_runtime import dlq as operations

__all__ = ["command"]


def _settings(broker_url: str | None, log_format: str | None, log_level: str | None) -> Settings:
    settings = get_settings(broker_url=broker_url, log_format=log_format, log_level=log_level)
    configure_logging(settings.log_format, settings.log_level)
    return settings


@click.group("dlq")
def command() -> None:
    """Inspect, replay and purge a function's dead-letter queue."""


@command.command("list")
@click.argument("function")
@click.option("--limit", type=int, default=None, help="Show at most this many.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@broker_option
@log_options
def list_command(
    function: str,
    limit: int | None,
    as_json: bool,
    broker_url: str | None,
    log_format: str | None,
    log_level: str | None,
) -> None:
    """List FUNCTION's dead letters (they stay in the queue)."""
    letters = operations.list_dead_letters(_settings(broker_url, log_format, log_level), function)
    for letter in letters[:limit] if limit is not None else letters:
        if as_json:
            click.echo(json.dumps({"event": letter.event, "extensions": letter.extensions}))
            continue
        event, ext = letter.event, letter.extensions
        click.echo(
            f"{event.get('id')}  {event.get('type')}  {event.get('source')}  "
            f"attempts={ext.get('eventfnattempts')}  {ext.get('eventfnerrortype')}: "
            f"{ext.get('eventfnerror')}  (first {ext.get('eventfnfirstfailure')}, "
            f"last {ext.get('eventfnlastfailure')})"
        )
    click.echo(f"{len(letters)} dead letter(s) in {function}", err=True)


@command.command("replay")
@click.argument("function")
@click.option(
    "--to",
    "target",
    type=click.Choice(["function", "bridge"]),
    default="function",
    show_default=True,
    help="Straight onto FUNCTION's queue (first attempt), or through the bridge "
    "(every subscriber gets the event again).",
)
@click.option("--limit", type=int, default=None, help="Replay at most this many.")
@broker_option
@log_options
def replay_command(
    function: str,
    target: operations.ReplayTarget,
    limit: int | None,
    broker_url: str | None,
    log_format: str | None,
    log_level: str | None,
) -> None:
    """Send FUNCTION's dead letters back, unchanged; each is removed once sent."""
    settings = _settings(broker_url, log_format, log_level)
    count = operations.replay(settings, function, to=target, limit=limit)
    click.echo(f"replayed {count} event(s) from {function} to the {target}")


@command.command("purge")
@click.argument("function")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@broker_option
@log_options
def purge_command(
    function: str,
    yes: bool,
    broker_url: str | None,
    log_format: str | None,
    log_level: str | None,
) -> None:
    """Drop FUNCTION's dead letters."""
    if not yes:
        click.confirm(f"Drop every dead letter of {function}?", abort=True)
    count = operations.purge(_settings(broker_url, log_format, log_level), function)
    click.echo(f"purged {count} dead letter(s) from {function}")
