"""The error raised when a filter spec cannot be compiled.

Raised by :func:`broker_bridge.filters.compile_filter` (and so when a subscription is
loaded, never when an event arrives)::

    BridgeError
    └── InvalidFilterError (ValueError)
"""

from __future__ import annotations

from typing import Any

from broker_bridge.errors import BridgeError

__all__ = ["InvalidFilterError"]


class InvalidFilterError(BridgeError, ValueError):
    """A Subscriptions API filter spec is invalid; names where, what, and why.

    ``path`` locates the offending part (``filter.all[1].exact``), ``spec`` is the
    offending value and ``reason`` says what is wrong with it.
    """

    def __init__(self, path: str, spec: Any, reason: str) -> None:
        self.path = path
        self.spec = spec
        self.reason = reason
        super().__init__(f"invalid filter at {path}: {reason}")
