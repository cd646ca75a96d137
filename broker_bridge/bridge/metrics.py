"""Prometheus metrics of the bridge (one set per process)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = ["DEAD_LETTERED", "FANOUT", "RECEIVED", "ROUTED", "ROUTING_SECONDS", "UNMATCHED"]

RECEIVED = Counter("eventfn_bridge_received", "Input messages taken from the bridge queue")
ROUTED = Counter("eventfn_bridge_routed", "Events routed to at least one function")
FANOUT = Counter(
    "eventfn_bridge_fanout", "Task messages published to function queues", ["function"]
)
UNMATCHED = Counter("eventfn_bridge_unmatched", "Events no subscription matched", ["policy"])
DEAD_LETTERED = Counter(
    "eventfn_bridge_dead_lettered", "Inputs sent to the bridge dead-letter queue", ["reason"]
)
ROUTING_SECONDS = Histogram(
    "eventfn_bridge_routing_seconds",
    "Time to decode and route one event (not counting publishing)",
    buckets=(1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2, 0.1),
)
