"""The ``exact`` dialect: ``{"exact": {"type": "com.example.created"}}``.

Passes when every listed attribute equals its value (case-sensitive). The routing table
(``broker_bridge.routing``) indexes subscriptions on an ``exact`` ``type``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from broker_bridge.cesql.attributes import canonical_string
from broker_bridge.filters.attribute_filter import AttributeFilter

__all__ = ["ExactFilter"]


class ExactFilter(AttributeFilter):
    """Every listed attribute is present and equal to its value."""

    __slots__ = ()
    dialect = "exact"

    @staticmethod
    def test(value: str, expected: str) -> bool:
        return value == expected

    def match_attributes(self, attributes: Mapping[str, Any]) -> bool:
        # The hottest filter of all (every exact-type subscription): inlined test.
        for name, expected in self.items:
            value = attributes.get(name)
            if value is None:
                return False
            if type(value) is not str:
                value = canonical_string(value)
            if value != expected:
                return False
        return True
