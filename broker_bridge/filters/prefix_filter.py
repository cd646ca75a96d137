"""The ``prefix`` dialect: ``{"prefix": {"type": "com.example."}}``.

Passes when every listed attribute starts with its (non-empty) value.
"""

from __future__ import annotations

from broker_bridge.filters.attribute_filter import AttributeFilter

__all__ = ["PrefixFilter"]


class PrefixFilter(AttributeFilter):
    """Every listed attribute is present and starts with its value."""

    __slots__ = ()
    dialect = "prefix"

    @staticmethod
    def test(value: str, expected: str) -> bool:
        return value.startswith(expected)
