"""The workers' own counters (handled, failed, dead-lettered), read from their
Prometheus multiprocess files.

``eventfn dev`` starts every local worker with ``PROMETHEUS_MULTIPROC_DIR`` pointing
at a directory of its own under one directory of its state dir; each worker process
(and each prefork child) writes its counters of :class:`worker_runtime.metrics.WorkerMetrics`
there, and the files outlive the processes, so the sums are totals since ``eventfn dev`` started,
across scale-downs and restarts. Read by the live view and ``eventfn status``.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client.multiprocess import MultiProcessCollector
from pydantic import BaseModel, ConfigDict

from k8s.actuators.local import MULTIPROC_ENV

__all__ = ["MULTIPROC_ENV", "WorkerCounts", "read_worker_counts"]


_SAMPLES = {
    "eventfn_events_handled_total": "handled",
    "eventfn_events_failed_total": "failed",
    "eventfn_events_dead_lettered_total": "dead_lettered",
}


class WorkerCounts(BaseModel):
    """Totals of one function's workers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    handled: int = 0
    failed: int = 0
    dead_lettered: int = 0


def read_worker_counts(directory: Path) -> dict[str, WorkerCounts] | None:
    """Totals per function from ``directory``; ``None`` when it cannot be read (missing,
    or a file caught half-written: the next read will see it whole)."""
    if not directory.is_dir():
        return None
    files = sorted(str(path) for path in directory.rglob("*.db"))
    try:
        families = MultiProcessCollector.merge(files, accumulate=True)  # type: ignore[no-untyped-call]
    except (OSError, ValueError, KeyError):  # prometheus_client's readers raise these
        return None
    totals: dict[str, dict[str, float]] = {}
    for family in families:
        for sample in family.samples:
            field = _SAMPLES.get(sample.name)
            function = sample.labels.get("function")
            if field is None or function is None:
                continue
            counts = totals.setdefault(function, {})
            counts[field] = counts.get(field, 0.0) + sample.value
    return {
        function: WorkerCounts(**{field: int(value) for field, value in counts.items()})
        for function, counts in totals.items()
    }
