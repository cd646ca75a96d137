"""What the live view and ``eventfn status`` show: one snapshot of queues and workers.

A :class:`Snapshot` holds, per function, the depth of its queue (ready + unacked),
its dead letters, its workers and how many events its workers handled, plus the
bridge's input queue. Built by :mod:`k8s.dev.view.collect`; rendered by
:mod:`k8s.dev.view.render`. The pure parts live here: :func:`with_rates` (handled per
second from two snapshots' deltas) and :func:`change_key` (what must differ for the
plain, non-TTY view to print again).
"""

from __future__ import annotations

from collections.abc import Hashable

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FunctionRow", "QueueDepth", "Snapshot", "change_key", "with_rates"]


class QueueDepth(BaseModel):
    """One queue's counts; ``unacked`` is ``None`` when the broker's source cannot see it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    queue: str
    ready: int = Field(default=0, ge=0)
    unacked: int | None = Field(default=None, ge=0)

    @property
    def depth(self) -> int:
        """Ready plus unacknowledged messages (what is known of them)."""
        return self.ready + (self.unacked or 0)


class FunctionRow(BaseModel):
    """One function: its queue, dead letters, workers and handled counts.

    ``None`` means unknown: ``workers`` when no local autoscaler runs and the broker
    does not count consumers; ``handled``/``failed``/``dead_lettered`` when the
    workers' counters cannot be read (no ``eventfn dev`` running on this state dir);
    ``handled_per_second`` until two snapshots were taken.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    subscriptions: str
    queue: QueueDepth
    dead_letters: int = Field(default=0, ge=0)
    workers: int | None = Field(default=None, ge=0)
    busy: int | None = Field(default=None, ge=0)
    handled: int | None = Field(default=None, ge=0)
    failed: int | None = Field(default=None, ge=0)
    handled_per_second: float | None = Field(default=None, ge=0)


class Snapshot(BaseModel):
    """Every function's row at unix time ``at``; ``problems``: queues that could not be
    read this time (the rows keep zeros for them)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: float
    broker: str
    source: str
    sees_unacked: bool
    bridge: QueueDepth
    functions: tuple[FunctionRow, ...] = ()
    problems: tuple[str, ...] = ()

    def function(self, name: str) -> FunctionRow | None:
        return next((row for row in self.functions if row.name == name), None)

    @property
    def depth(self) -> int:
        """Messages anywhere in the pipeline: the bridge's input and every function queue."""
        return self.bridge.depth + sum(row.queue.depth for row in self.functions)


def with_rates(previous: Snapshot | None, current: Snapshot) -> Snapshot:
    """``current`` with each function's ``handled_per_second`` over the time since
    ``previous``; a counter that went down (workers restarted by a reload) or a
    function missing from ``previous`` gets no rate this time."""
    if previous is None or current.at <= previous.at:
        return current
    elapsed = current.at - previous.at
    rows = []
    for row in current.functions:
        before = previous.function(row.name)
        rate: float | None = None
        if before is not None and before.handled is not None and row.handled is not None:
            delta = row.handled - before.handled
            rate = delta / elapsed if delta >= 0 else None
        rows.append(row.model_copy(update={"handled_per_second": rate}))
    return current.model_copy(update={"functions": tuple(rows)})


def change_key(snapshot: Snapshot) -> Hashable:
    """What the plain view compares to decide whether to print: counts, not times or rates."""
    return (
        (snapshot.bridge.ready, snapshot.bridge.unacked),
        tuple(
            (
                row.name,
                row.queue.ready,
                row.queue.unacked,
                row.dead_letters,
                row.workers,
                row.busy,
                row.handled,
                row.failed,
            )
            for row in snapshot.functions
        ),
        snapshot.problems,
    )
