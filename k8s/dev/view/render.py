"""Three renderings of a :class:`k8s.dev.view.Snapshot`: a rich table (the live view on a
terminal and ``eventfn status``), plain log fields (``eventfn dev`` when stdout is not
a terminal) and JSON (``eventfn status --json``).

Pure: nothing here reads a broker or a clock.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from k8s.dev.view.model import FunctionRow, QueueDepth, Snapshot

__all__ = ["plain_records", "render_snapshot", "snapshot_json"]

UNKNOWN = "-"


def _count(value: int | None) -> str:
    return UNKNOWN if value is None else str(value)


def _rate(value: float | None) -> str:
    return UNKNOWN if value is None else f"{value:.1f}"


def _workers(row: FunctionRow) -> str:
    if row.workers is None:
        return UNKNOWN
    return f"{row.workers} ({row.busy} busy)" if row.busy else str(row.workers)


def render_snapshot(
    snapshot: Snapshot, *, title: str | None = None, legend: bool = False
) -> RenderableType:
    """A table with a row for the bridge's input and one per function, the broker in
    the caption, each function's subscriptions below it (``legend``), and any
    unreadable queues last."""
    when = dt.datetime.fromtimestamp(snapshot.at).strftime("%H:%M:%S")
    table = Table(
        title=title,
        caption=f"{snapshot.broker} ({snapshot.source}) at {when}",
        caption_justify="left",
        expand=False,
    )
    table.add_column("function", no_wrap=True)
    for header in ("ready", "unacked", "workers", "handled", "/s", "failed", "dead\nletters"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_row(
        Text("(bridge)", style="dim"),
        str(snapshot.bridge.ready),
        _count(snapshot.bridge.unacked),
        *[""] * 5,
    )
    for row in snapshot.functions:
        dead = Text(str(row.dead_letters), style="bold red" if row.dead_letters else "")
        table.add_row(
            Text(row.name, style="bold"),
            str(row.queue.ready),
            _count(row.queue.unacked),
            _workers(row),
            _count(row.handled),
            _rate(row.handled_per_second),
            _count(row.failed),
            dead,
        )
    parts: list[RenderableType] = [table]
    if legend and snapshot.functions:
        width = max(len(row.name) for row in snapshot.functions)
        lines = Text()
        for row in snapshot.functions:
            lines.append(f"{row.name:<{width}}", style="bold")
            lines.append(f"  <- {row.subscriptions}\n")
        lines.rstrip()
        parts.append(lines)
    if snapshot.problems:
        parts.append(Text("\n".join(snapshot.problems), style="yellow"))
    return table if len(parts) == 1 else Group(*parts)


def plain_records(snapshot: Snapshot) -> list[dict[str, Any]]:
    """Log fields: one record for the bridge's input, one per function."""
    records: list[dict[str, Any]] = [
        {"queue": snapshot.bridge.queue, "ready": snapshot.bridge.ready}
        | ({"unacked": snapshot.bridge.unacked} if snapshot.bridge.unacked is not None else {})
    ]
    for row in snapshot.functions:
        record: dict[str, Any] = {
            "function": row.name,
            "ready": row.queue.ready,
            "unacked": row.queue.unacked,
            "workers": row.workers,
            "handled": row.handled,
            "per_second": None
            if row.handled_per_second is None
            else round(row.handled_per_second, 2),
            "failed": row.failed,
            "dead_letters": row.dead_letters,
        }
        records.append({key: value for key, value in record.items() if value is not None})
    return records


def _queue_json(depth: QueueDepth) -> dict[str, Any]:
    return {
        "queue": depth.queue,
        "ready": depth.ready,
        "unacked": depth.unacked,
        "depth": depth.depth,
    }


def snapshot_json(snapshot: Snapshot) -> dict[str, Any]:
    """The snapshot as JSON-ready data (``eventfn status --json``)."""
    return {
        "at": snapshot.at,
        "broker": snapshot.broker,
        "source": snapshot.source,
        "sees_unacked": snapshot.sees_unacked,
        "depth": snapshot.depth,
        "bridge": _queue_json(snapshot.bridge),
        "functions": [
            {
                "name": row.name,
                "subscriptions": row.subscriptions,
                **_queue_json(row.queue),
                "dead_letters": row.dead_letters,
                "workers": row.workers,
                "busy": row.busy,
                "handled": row.handled,
                "failed": row.failed,
                "handled_per_second": row.handled_per_second,
            }
            for row in snapshot.functions
        ],
        "problems": list(snapshot.problems),
    }
