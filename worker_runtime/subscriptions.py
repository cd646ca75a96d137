"""The bridge's subscription table, from the function registry or a YAML file.

Each function's ``subscribe=[...]`` is one subscription: its list of Subscriptions
API filters is a conjunction (as in the spec and Knative's Trigger ``filters``);
a function with no ``subscribe`` receives only direct invocations. A YAML file
(``eventfn bridge --subscriptions FILE``) replaces the registry's table and is
checked against the registered function names.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from broker_bridge.bridge import Router
from broker_bridge.routing import RoutingTable
from broker_bridge.subscriptions import Subscription, SubscriptionTable, load_yaml
from worker_runtime.registry import Registry

__all__ = ["router_for", "router_source", "table_for"]


def table_for(registry: Registry) -> SubscriptionTable:
    """One subscription per function that declares ``subscribe`` filters."""
    return SubscriptionTable(
        subscriptions=[
            Subscription(
                name=spec.name, function=spec.name, filters=[dict(f) for f in spec.subscribe]
            )
            for spec in registry
            if spec.subscribe
        ]
    )


def router_for(registry: Registry, subscriptions_file: Path | None = None) -> Router:
    """A routing table from the file (validated against the registry) or the registry."""
    if subscriptions_file is None:
        return RoutingTable.from_subscriptions(table_for(registry))
    table = load_yaml(subscriptions_file)
    table.validate_functions(registry.names())
    return RoutingTable.from_subscriptions(table)


def router_source(
    registry: Registry, subscriptions_file: Path | None = None
) -> Callable[[], Router]:
    """A callable the bridge calls again on every reload."""
    return lambda: router_for(registry, subscriptions_file)
