"""Prometheus metrics of one ingress (``GET /metrics``).

Each app gets its own :class:`~prometheus_client.CollectorRegistry`, so several
ingress apps (tests, benchmarks) never collide in the global registry. Names carry
the ``eventfn_ingress_`` prefix.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["IngressMetrics"]


class IngressMetrics:
    """The counters, gauges and histograms the ingress app updates."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "eventfn_ingress_requests",
            "HTTP requests answered, by route and status code",
            ["route", "status"],
            registry=self.registry,
        )
        self.events = Counter(
            "eventfn_ingress_events_accepted",
            "Events confirmed by the broker and answered 202, by content mode",
            ["mode"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "eventfn_ingress_requests_rejected",
            "Requests refused, by problem type",
            ["problem"],
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "eventfn_ingress_in_flight_requests",
            "Requests being handled now",
            registry=self.registry,
        )
        self.publish_seconds = Histogram(
            "eventfn_ingress_publish_seconds",
            "Time from a request's events being read to the broker's confirm",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.broker_up = Gauge(
            "eventfn_ingress_broker_up",
            "1 when the last publish or readiness check reached the broker, else 0",
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
