"""``eventfn invoke FUNCTION``: put one event straight onto a function's queue.

The command-line form of ``handler.send(data, **attributes)``
(:mod:`worker_runtime.sending`): the function must be one of the loaded functions
(``--functions``); the event is published as a task message, confirmed, and its
id printed. No subscription is consulted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from broker_bridge.commands.options import broker_option, log_options
from broker_bridge.commands.publish import _parse_data as parse_data
from broker_bridge.config import get_settings
from broker_bridge.logs import configure_logging
from broker_bridge.publisher import Publisher
from worker_runtime.commands.options import functions_option
from worker_runtime.loading import load_functions
from worker_runtime.sending import DEFAULT_SOURCE, send

__all__ = ["command"]


def _attributes(pairs: tuple[str, ...]) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--attr")
        attributes[name.strip()] = value
    return attributes


@click.command("invoke")
@click.argument("function")
@click.option("--data", default=None, help="Event data: JSON, or else taken as a string.")
@click.option(
    "--data-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Event data from a file: JSON, else text, else bytes.",
)
@click.option(
    "--type", "type_", default=None, help="The event's type (default: eventfn.invoke.FUNCTION)."
)
@click.option("--source", default=None, help=f"The event's source (default: {DEFAULT_SOURCE}).")
@click.option("--subject", default=None, help="The event's subject.")
@click.option("--id", "event_id", default=None, help="The event's id (default: a new UUID).")
@click.option(
    "--attr",
    "attrs",
    multiple=True,
    metavar="NAME=VALUE",
    help="Another attribute or extension (a string); repeatable.",
)
@functions_option
@broker_option
@log_options
def command(
    function: str,
    data: str | None,
    data_file: Path | None,
    type_: str | None,
    source: str | None,
    subject: str | None,
    event_id: str | None,
    attrs: tuple[str, ...],
    functions_module: str,
    broker_url: str | None,
    log_format: str | None,
    log_level: str | None,
) -> None:
    """Put one event straight onto FUNCTION's queue (no routing); print its id.

    \b
    eventfn invoke sales-report --data '{"period": "2024-05"}'
    eventfn invoke resize-image --data-file upload.json --subject img/1 --attr tenant=acme
    """
    settings = get_settings(broker_url=broker_url, log_format=log_format, log_level=log_level)
    configure_logging(settings.log_format, settings.log_level)
    registry = load_functions(functions_module)
    registry.get(function)  # UnknownFunction: one line on stderr, exit 1
    attributes: dict[str, Any] = _attributes(attrs)
    flags = {"type": type_, "source": source, "subject": subject, "id": event_id}
    attributes.update({key: value for key, value in flags.items() if value is not None})
    payload = parse_data(data, data_file)
    with Publisher(settings=settings).connect() as publisher:
        sent = send(function, payload, publisher=publisher, registry=registry, **attributes)
    click.echo(sent)
