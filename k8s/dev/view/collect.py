"""Take a :class:`k8s.dev.view.Snapshot`: queue depths from a metrics source, workers from
the local autoscaler (or the broker's consumer counts), handled counts from the
workers' counter files.

Used by ``eventfn dev`` (its view thread, about once a second) and ``eventfn status``
(once). The metrics source is the one :func:`k8s.metrics.open_metrics_source` picks
for the broker; a collector owns its source (sources are not thread-safe).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from broker_bridge import topology
from broker_bridge.connection import mask_url
from k8s.dev.view.counters import WorkerCounts, read_worker_counts
from k8s.dev.view.describe import describe_subscriptions
from k8s.dev.view.model import FunctionRow, QueueDepth, Snapshot
from k8s.errors import MetricsUnavailable
from k8s.metrics.stats import MetricsSource, QueueStats
from worker_runtime.registry import Registry

__all__ = ["SnapshotCollector", "WatchedFunction", "WorkerCount", "watched_functions"]

#: ``(workers, busy)`` of a function, or ``None`` when not known.
WorkerCount = tuple[int, int] | None


@dataclass(frozen=True)
class WatchedFunction:
    """A function the view shows: its name and its subscriptions in words."""

    name: str
    subscriptions: str


def watched_functions(registry: Registry) -> list[WatchedFunction]:
    return [
        WatchedFunction(spec.name, describe_subscriptions(list(spec.subscribe)))
        for spec in registry
    ]


class SnapshotCollector:
    """Reads ``functions``' queues from ``source``.

    ``counters_dir``: the workers' multiprocess counter files (``None``: handled
    counts unknown). ``workers``: called per function for ``(workers, busy)``;
    without it (or when it returns ``None``) the broker's consumer count stands in
    when the source knows it.
    """

    def __init__(
        self,
        functions: Iterable[WatchedFunction],
        source: MetricsSource,
        broker_url: str,
        *,
        counters_dir: Path | None = None,
        workers: Callable[[str], WorkerCount] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.broker = mask_url(broker_url)
        self.counters_dir = counters_dir
        self._workers = workers
        self._clock = clock
        self._lock = threading.Lock()
        self._functions = list(functions)

    def set_functions(self, functions: Iterable[WatchedFunction]) -> None:
        """Show these functions from the next snapshot on (after a reload)."""
        with self._lock:
            self._functions = list(functions)

    @property
    def functions(self) -> Sequence[WatchedFunction]:
        with self._lock:
            return list(self._functions)

    def collect(self, *, strict: bool = False) -> Snapshot:
        """One snapshot; a queue that cannot be read counts zero and is named in
        ``problems``, unless ``strict``: then :class:`MetricsUnavailable` is raised."""
        problems: list[str] = []

        def read(queue: str) -> QueueStats:
            try:
                return self.source.queue_stats(queue)
            except MetricsUnavailable as exc:
                if strict:
                    raise
                problems.append(str(exc))
                return QueueStats(queue=queue, ready=0, unacked=None)

        bridge = read(topology.BRIDGE_QUEUE)
        counts = read_worker_counts(self.counters_dir) if self.counters_dir else None
        rows = []
        for function in self.functions:
            stats = read(topology.function_queue_name(function.name))
            dead = read(topology.function_dlq_name(function.name))
            rows.append(self._row(function, stats, dead, counts))
        return Snapshot(
            at=self._clock(),
            broker=self.broker,
            source=self.source.name,
            sees_unacked=self.source.sees_unacked,
            bridge=_depth(bridge),
            functions=tuple(rows),
            problems=tuple(problems),
        )

    def _row(
        self,
        function: WatchedFunction,
        stats: QueueStats,
        dead: QueueStats,
        counts: dict[str, WorkerCounts] | None,
    ) -> FunctionRow:
        known = self._workers(function.name) if self._workers is not None else None
        workers, busy = known if known is not None else (stats.consumers, None)
        mine = None if counts is None else counts.get(function.name, WorkerCounts())
        return FunctionRow(
            name=function.name,
            subscriptions=function.subscriptions,
            queue=_depth(stats),
            dead_letters=dead.work,
            workers=workers,
            busy=busy,
            handled=None if mine is None else mine.handled,
            failed=None if mine is None else mine.failed,
        )


def _depth(stats: QueueStats) -> QueueDepth:
    return QueueDepth(queue=stats.queue, ready=stats.ready, unacked=stats.unacked)
