"""Prometheus metrics of the worker: handled, failed, retried, dead-lettered,
duplicate-skipped, deferred, handler duration, in-flight.

:class:`WorkerMetrics` creates its collectors on a given registry (tests pass a
fresh ``CollectorRegistry``). Prefork workers are several processes: when
``PROMETHEUS_MULTIPROC_DIR`` is set before ``prometheus_client`` is imported
(``eventfn worker --metrics-port`` does it), each child writes its values there
and the parent serves the sum (:func:`serve_metrics`); the in-flight gauge sums
live processes.
"""

from __future__ import annotations

import os

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)

__all__ = ["DURATION_BUCKETS", "WorkerMetrics", "default_metrics", "serve_metrics"]

DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class WorkerMetrics:
    """The worker's collectors, labelled by function."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        reg = registry if registry is not None else REGISTRY
        self.handled = Counter(
            "eventfn_events_handled_total", "Events a handler completed", ["function"], registry=reg
        )
        self.failed = Counter(
            "eventfn_events_failed_total", "Failed handler attempts", ["function"], registry=reg
        )
        self.retried = Counter(
            "eventfn_events_retried_total",
            "Events put back for a later attempt",
            ["function"],
            registry=reg,
        )
        self.dead_lettered = Counter(
            "eventfn_events_dead_lettered_total",
            "Events sent to the dead-letter queue",
            ["function"],
            registry=reg,
        )
        self.duplicates = Counter(
            "eventfn_events_duplicate_skipped_total",
            "Duplicate deliveries of completed events, acked without running the handler",
            ["function"],
            registry=reg,
        )
        self.deferred = Counter(
            "eventfn_events_deferred_total",
            "Duplicate deliveries put back because the event was running elsewhere",
            ["function"],
            registry=reg,
        )
        self.duration = Histogram(
            "eventfn_handler_duration_seconds",
            "Handler run time",
            ["function"],
            buckets=DURATION_BUCKETS,
            registry=reg,
        )
        self.in_flight = Gauge(
            "eventfn_handlers_in_flight",
            "Handlers running now",
            ["function"],
            multiprocess_mode="livesum",
            registry=reg,
        )


_default: WorkerMetrics | None = None


def default_metrics() -> WorkerMetrics:
    """The process-wide metrics on prometheus_client's default registry."""
    global _default  # noqa: PLW0603 - one set of collectors per process, like prometheus_client
    if _default is None:
        _default = WorkerMetrics()
    return _default


def serve_metrics(port: int, addr: str = "127.0.0.1") -> None:
    """Serve /metrics on ``port``: the multiprocess sum when a multiproc dir is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess  # noqa: PLC0415 - only in multiprocess mode

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        start_http_server(port, addr=addr, registry=registry)
    else:
        start_http_server(port, addr=addr)
