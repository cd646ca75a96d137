"""The ``python`` subscription source: the ``@function`` registry of a package.

Each function's ``subscribe=[...]`` is one subscription: its list of Subscriptions
API filters is a conjunction (as in the spec and Knative's Trigger ``filters``);
a function with no ``subscribe`` receives only direct invocations. This is the
default source of ``eventfn bridge`` and ``eventfn ingress`` on a developer's machine
(entry point ``python`` of ``eventfn.sources``; see :mod:`broker_bridge.sources`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from broker_bridge.bridge import Router
from broker_bridge.routing import RoutingTable
from broker_bridge.sources import SourceOptions
from broker_bridge.subscriptions import Subscription, SubscriptionTable
from worker_runtime.loading import DEFAULT_FUNCTIONS, load_functions
from worker_runtime.registry import Registry

__all__ = ["PythonSource", "router_source", "table_for"]


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


def router_source(registry: Registry) -> Callable[[], Router]:
    """A callable the bridge calls again on every reload."""
    return lambda: RoutingTable.from_subscriptions(table_for(registry))


class PythonSource:
    """The functions of a Python package (or files), loaded once at start."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._table = table_for(registry)  # refuse bad filters before connecting

    @classmethod
    def from_options(cls, options: SourceOptions) -> PythonSource:
        return cls(load_functions(options.functions_module or DEFAULT_FUNCTIONS))

    def table(self) -> SubscriptionTable:
        return self._table

    def functions(self) -> frozenset[str]:
        return frozenset(self.registry.names())

    def has_function(self, name: str) -> bool:
        return name in self.functions()

    def ready(self) -> bool:
        return True

    def watch(self, on_change: Callable[[], None], stop: threading.Event) -> None:
        """Code does not change under a running process: nothing to watch."""
