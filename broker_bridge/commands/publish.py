"""``eventfn publish``: publish one CloudEvent from flags or a JSON file, or many from stdin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from broker_bridge.commands.options import broker_option, log_options
from broker_bridge.config import get_settings
from broker_bridge.errors import ConfigurationError
from broker_bridge.logs import configure_logging
from broker_bridge.publisher import Publisher

__all__ = ["command"]


def _parse_data(data: str | None, data_file: Path | None) -> Any:
    if data is not None and data_file is not None:
        raise ConfigurationError("give --data or --data-file, not both")
    if data_file is not None:
        data = data_file.read_text()
    if data is None:
        return None
    try:
        return json.loads(data)
    except json.JSONDecodeError:
        return data


@click.command("publish")
@click.option("--type", "type_", metavar="TYPE", help="The event's type attribute.")
@click.option("--source", default="eventfn/cli", show_default=True, help="The event's source.")
@click.option("--subject", default=None, help="The event's subject.")
@click.option("--id", "event_id", default=None, help="The event's id (default: a new UUID).")
@click.option("--data", default=None, help="Event data: JSON, or else taken as a string.")
@click.option(
    "--data-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None
)
@click.option(
    "--file",
    "event_file",
    type=click.File("r"),
    default=None,
    help="A JSON event (structured mode) to publish; '-' reads JSON lines from stdin.",
)
@click.option("--count", default=1, show_default=True, help="Publish the flag-built event N times.")
@broker_option
@log_options
def command(
    type_: str | None,
    source: str,
    subject: str | None,
    event_id: str | None,
    data: str | None,
    data_file: Path | None,
    event_file: Any,
    count: int,
    broker_url: str | None,
    log_format: str | None,
    log_level: str | None,
) -> None:
    """Publish CloudEvents to the bridge (to the broker directly)."""
    settings = get_settings(broker_url=broker_url, log_format=log_format, log_level=log_level)
    configure_logging(settings.log_format, settings.log_level)
    events: list[dict[str, Any]] = []
    if event_file is not None:
        for line_no, line in enumerate(event_file, start=1):
            if not line.strip():
                continue
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ConfigurationError(f"line {line_no}: not JSON: {exc}") from exc
    else:
        if not type_:
            raise click.UsageError("give --type (or --file)")
        payload = _parse_data(data, data_file)
        for _ in range(count):
            event: dict[str, Any] = {"type": type_, "source": source, "data": payload}
            if subject:
                event["subject"] = subject
            if event_id:
                event["id"] = event_id
            events.append(event)
    with Publisher(settings=settings) as publisher:
        sent = publisher.publish_many(events)
    for ce in sent:
        click.echo(ce.get_id())
    click.echo(f"published {len(sent)} event(s)", err=True)
