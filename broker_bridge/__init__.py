"""eventfn's data plane: CloudEvents in, routed to function queues.

Public API::

    from broker_bridge import Publisher, compile_filter, cesql
"""

from broker_bridge import cesql
from broker_bridge.errors import (
    BridgeError,
    BrokerUnavailable,
    ConfigurationError,
    EventfnError,
    PublishError,
)
from broker_bridge.filters import compile_filter
from broker_bridge.invalid import InvalidEventError
from broker_bridge.publisher import Publisher

__all__ = [
    "BridgeError",
    "BrokerUnavailable",
    "ConfigurationError",
    "EventfnError",
    "InvalidEventError",
    "PublishError",
    "Publisher",
    "cesql",
    "compile_filter",
]
