"""Count every delivery's outcome and time its handler (Prometheus).

Outermost middleware: it sees the final outcome (done, retried, dead-lettered,
duplicate, deferred); a failed attempt is one whose result carries an error.
"""

from __future__ import annotations

from worker_runtime.context import Invocation, Outcome, Result
from worker_runtime.metrics import WorkerMetrics
from worker_runtime.middleware.base import Middleware, Next

__all__ = ["Metrics"]


class Metrics(Middleware):
    def __init__(self, metrics: WorkerMetrics) -> None:
        self.metrics = metrics

    def __call__(self, invocation: Invocation, call_next: Next) -> Result:
        name = invocation.spec.name
        gauge = self.metrics.in_flight.labels(name)
        gauge.inc()
        try:
            result = call_next(invocation)
        finally:
            gauge.dec()
        m = self.metrics
        if result.duration:
            m.duration.labels(name).observe(result.duration)
        if result.error is not None:
            m.failed.labels(name).inc()
        counter = {
            Outcome.DONE: m.handled,
            Outcome.RETRIED: m.retried,
            Outcome.DEAD_LETTERED: m.dead_lettered,
            Outcome.DUPLICATE: m.duplicates,
            Outcome.DEFERRED: m.deferred,
        }.get(result.outcome)
        if counter is not None:
            counter.labels(name).inc()
        return result
