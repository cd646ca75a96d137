"""The bridge: routes CloudEvents from its input queue to function queues.

``Bridge`` is the process; ``decide`` the pure per-message decision.
"""

from broker_bridge.bridge.decision import HOPS_EXTENSION, Decision, Kind, Outgoing, Router, decide
from broker_bridge.bridge.process import Bridge
from broker_bridge.bridge.settings import BridgeSettings

__all__ = [
    "HOPS_EXTENSION",
    "Bridge",
    "BridgeSettings",
    "Decision",
    "Kind",
    "Outgoing",
    "Router",
    "decide",
]
