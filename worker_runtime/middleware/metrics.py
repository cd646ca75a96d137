"""Count every delivery's outcome and time its handler (Prometheus).

Outermost middleware: it sees the final outcome (done, retried, dead-lettered,
duplicate, deferred); a failed attempt is one whose result carries an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from worker_runtime.context import Invocation, Outcome, Result
from worker_runtime.metrics import WorkerMetrics
from worker_runtime.middleware.base import Middleware, Next

__all__ = ["Metrics"]


class Metrics(Middleware):
    def __init__(self, metrics: WorkerMetrics) -> None:
        self.metrics = metrics
        self._children: dict[str, _Children] = {}

    def _for(self, name: str) -> _Children:
        children = self._children.get(name)
        if children is None:
            m = self.metrics
            children = _Children(
                in_flight=m.in_flight.labels(name),
                duration=m.duration.labels(name),
                failed=m.failed.labels(name),
                outcomes={
                    Outcome.DONE: m.handled.labels(name),
                    Outcome.RETRIED: m.retried.labels(name),
                    Outcome.DEAD_LETTERED: m.dead_lettered.labels(name),
                    Outcome.DUPLICATE: m.duplicates.labels(name),
                    Outcome.DEFERRED: m.deferred.labels(name),
                },
            )
            self._children[name] = children
        return children

    def __call__(self, invocation: Invocation, call_next: Next) -> Result:
        children = self._for(invocation.spec.name)
        children.in_flight.inc()
        try:
            result = call_next(invocation)
        finally:
            children.in_flight.dec()
        if result.duration:
            children.duration.observe(result.duration)
        if result.error is not None:
            children.failed.inc()
        counter = children.outcomes.get(result.outcome)
        if counter is not None:
            counter.inc()
        return result


@dataclass(frozen=True)
class _Children:
    """One function's labelled metrics, looked up once (``labels()`` takes a lock)."""

    in_flight: Any
    duration: Any
    failed: Any
    outcomes: dict[Outcome, Any]
