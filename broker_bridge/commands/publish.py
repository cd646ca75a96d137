"""``eventfn publish``: publish CloudEvents from flags, a JSON file or JSON lines on stdin.

Events go to the broker directly (the :class:`~broker_bridge.publisher.Publisher`,
confirmed) or, with ``--ingress URL``, to an HTTP ingress as batches (each batch
answered 202 after the broker's confirm; 503 is retried after ``Retry-After``).
Input is read and sent in chunks of ``--batch-size``, so any input size runs in
bounded memory; a progress bar on stderr (rich; only on a terminal) shows large
inputs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import IO, Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from broker_bridge.commands.ingress_client import IngressClient
from broker_bridge.commands.options import broker_option, log_options
from broker_bridge.config import Settings, get_settings
from broker_bridge.errors import ConfigurationError
from broker_bridge.logs import configure_logging
from broker_bridge.publisher import Publisher, coerce_event

__all__ = ["command"]

#: Inputs at least this large (or of unknown size: stdin) get a progress bar.
PROGRESS_THRESHOLD = 1000


def _parse_data(data: str | None, data_file: Path | None) -> Any:
    if data is not None and data_file is not None:
        raise click.UsageError("give --data or --data-file, not both")
    if data_file is not None:
        raw = data_file.read_bytes()
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return raw  # binary data
    if data is None:
        return None
    try:
        return json.loads(data)
    except json.JSONDecodeError:
        return data


def _read_file(stream: IO[str], name: str) -> Iterator[dict[str, Any]]:
    """Events of a JSON file (one event or an array of events) or of JSON lines."""
    first = stream.read(1)
    while first and first.isspace():
        first = stream.read(1)
    if first in ("{", "[") and name != "<stdin>":
        text = first + stream.read()
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            yield from _lines(iter(text.splitlines(keepends=True)), name)
            return
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            yield _as_event(item, f"{name}[{index}]")
        return
    yield from _lines(_prepend(first, stream), name)


def _prepend(first: str, stream: IO[str]) -> Iterator[str]:
    rest = stream.readline()
    yield first + rest
    yield from stream


def _lines(lines: Iterable[str], name: str) -> Iterator[dict[str, Any]]:
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"{name} line {line_no}: not JSON: {exc}") from exc
        yield _as_event(item, f"{name} line {line_no}")


def _as_event(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ConfigurationError(f"{where}: an event is a JSON object, got {type(item).__name__}")
    return item


def _chunks(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


@click.command("publish")
@click.option("--type", "type_", metavar="TYPE", help="The event's type attribute.")
@click.option("--source", default="eventfn/cli", show_default=True, help="The event's source.")
@click.option("--subject", default=None, help="The event's subject.")
@click.option("--id", "event_id", default=None, help="The event's id (default: a new UUID).")
@click.option("--datacontenttype", default=None, help="The media type of the data.")
@click.option("--data", default=None, help="Event data: JSON, or else taken as a string.")
@click.option(
    "--data-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Event data from a file: JSON, else text, else bytes.",
)
@click.option(
    "--file",
    "event_file",
    type=click.File("r"),
    default=None,
    help="Events in the JSON format: one event or an array, or JSON lines; '-' reads "
    "JSON lines from stdin.",
)
@click.option("--count", default=1, show_default=True, help="Publish the flag-built event N times.")
@click.option(
    "--batch-size",
    default=500,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Events sent (and confirmed) together.",
)
@click.option(
    "--ingress",
    "ingress_url",
    metavar="URL",
    default=None,
    help="POST to this eventfn ingress (e.g. http://127.0.0.1:8080/) instead of the broker.",
)
@click.option(
    "--token",
    envvar="EVENTFN_INGRESS_TOKEN",
    default=None,
    help="Bearer token for --ingress (default: EVENTFN_INGRESS_TOKEN).",
)
@click.option("--quiet", "-q", is_flag=True, help="Do not print the ids of published events.")
@broker_option
@log_options
def command(
    type_: str | None,
    source: str,
    subject: str | None,
    event_id: str | None,
    datacontenttype: str | None,
    data: str | None,
    data_file: Path | None,
    event_file: IO[str] | None,
    count: int,
    batch_size: int,
    ingress_url: str | None,
    token: str | None,
    quiet: bool,
    broker_url: str | None,
    log_format: str | None,
    log_level: str | None,
) -> None:
    """Publish CloudEvents to the bridge: to the broker directly, or to an ingress.

    \b
    eventfn publish --type com.example.ping --data '{"n": 1}'
    eventfn publish --file events.json
    produce-events | eventfn publish --file - --ingress http://127.0.0.1:8080/
    """
    settings = get_settings(broker_url=broker_url, log_format=log_format, log_level=log_level)
    configure_logging(settings.log_format, settings.log_level)
    total: int | None
    if event_file is not None:
        name = getattr(event_file, "name", "<stdin>")
        events: Iterable[dict[str, Any]] = _read_file(event_file, name)
        total = None
    else:
        if not type_:
            raise click.UsageError("give --type (or --file)")
        events = _flag_events(
            type_, source, subject, event_id, datacontenttype, _parse_data(data, data_file), count
        )
        total = count
    show_progress = total is None or total >= PROGRESS_THRESHOLD
    sent = 0
    progress = Progress(
        TextColumn("publishing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not show_progress,
        transient=True,
    )
    with _Sender(settings, ingress_url, token) as sender, progress:
        task = progress.add_task("publish", total=total)
        for chunk in _chunks(events, batch_size):
            ids = sender.send(chunk)
            sent += len(ids)
            progress.advance(task, len(ids))
            if not quiet:
                click.echo("\n".join(ids))
    target = ingress_url or "the broker"
    click.echo(f"published {sent} event(s) to {target}", err=True)


def _flag_events(
    type_: str,
    source: str,
    subject: str | None,
    event_id: str | None,
    datacontenttype: str | None,
    payload: Any,
    count: int,
) -> Iterator[dict[str, Any]]:
    for _ in range(count):
        event: dict[str, Any] = {"type": type_, "source": source}
        if payload is not None:
            event["data"] = payload
        if subject:
            event["subject"] = subject
        if event_id:
            event["id"] = event_id
        if datacontenttype:
            event["datacontenttype"] = datacontenttype
        elif payload is not None and not isinstance(payload, bytes):
            text = isinstance(payload, str)
            event["datacontenttype"] = "text/plain" if text else "application/json"
        yield event


class _Sender:
    """Sends chunks of events to the broker or to an ingress; returns their ids."""

    def __init__(self, settings: Settings, ingress_url: str | None, token: str | None) -> None:
        self.publisher: Publisher | None = None
        self.client: IngressClient | None = None
        if ingress_url:
            self.client = IngressClient(ingress_url, token=token)
        else:
            # connect now: an unreachable broker is one clear error, not a retry loop
            self.publisher = Publisher(settings=settings).connect()

    def send(self, chunk: list[dict[str, Any]]) -> list[str]:
        if self.publisher is not None:
            return [ce.get_id() for ce in self.publisher.publish_many(chunk)]
        assert self.client is not None
        events = [coerce_event(item) for item in chunk]
        self.client.post_batch(events)
        return [ce.get_id() for ce in events]

    def __enter__(self) -> _Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.publisher is not None:
            self.publisher.close()
        if self.client is not None:
            self.client.close()
