"""What ``eventfn dev`` shows live and ``eventfn status`` once: queue depths, workers,
handled rates and dead letters per function.

Public API::

    from k8s.dev.view import SnapshotCollector, watched_functions, render_snapshot
    collector = SnapshotCollector(watched_functions(registry), open_metrics_source(url), url)
    snapshot = collector.collect()            # a Snapshot (pydantic, frozen)
    snapshot = with_rates(previous, snapshot) # handled per second from the deltas
    console.print(render_snapshot(snapshot))  # or plain_records(...), snapshot_json(...)

Modules: :mod:`~k8s.dev.view.model` (the snapshot, rates, change detection; pure),
:mod:`~k8s.dev.view.describe` (filters in words; pure), :mod:`~k8s.dev.view.counters` (the
workers' counter files), :mod:`~k8s.dev.view.collect` (reads a broker),
:mod:`~k8s.dev.view.render` (rich table, log fields, JSON; pure).
"""

from k8s.dev.view.collect import SnapshotCollector, WatchedFunction, WorkerCount, watched_functions
from k8s.dev.view.counters import MULTIPROC_ENV, WorkerCounts, read_worker_counts
from k8s.dev.view.describe import (
    NO_SUBSCRIPTIONS,
    describe_filter,
    describe_subscriptions,
    example_event_type,
)
from k8s.dev.view.model import FunctionRow, QueueDepth, Snapshot, change_key, with_rates
from k8s.dev.view.render import plain_records, render_snapshot, snapshot_json

__all__ = [
    "MULTIPROC_ENV",
    "NO_SUBSCRIPTIONS",
    "FunctionRow",
    "QueueDepth",
    "Snapshot",
    "SnapshotCollector",
    "WatchedFunction",
    "WorkerCount",
    "WorkerCounts",
    "change_key",
    "describe_filter",
    "describe_subscriptions",
    "example_event_type",
    "plain_records",
    "read_worker_counts",
    "render_snapshot",
    "snapshot_json",
    "watched_functions",
    "with_rates",
]
