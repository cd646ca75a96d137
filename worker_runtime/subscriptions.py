"""The subscription table derived from the function registry (first cut).

Each ``subscribe=[...]`` entry of a function is one subscription. This first cut
matches ``exact`` filters on attributes; the full Subscriptions API dialects and
CESQL come from ``broker_bridge.filters``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from broker_bridge.bridge import Router
from worker_runtime.registry import Registry

__all__ = ["router_for"]


def router_for(registry: Registry) -> Router:
    table: list[tuple[str, dict[str, str]]] = []
    for spec in registry:
        for entry in spec.subscribe:
            table.append((spec.name, dict(entry.get("exact", {}))))

    def route(attributes: Mapping[str, Any]) -> Sequence[str]:
        names: list[str] = []
        for name, exact in table:
            if all(str(attributes.get(k)) == v for k, v in exact.items()) and name not in names:
                names.append(name)
        return names

    return route
