"""The ``suffix`` dialect: ``{"suffix": {"type": ".error"}}``.

Passes when every listed attribute ends with its (non-empty) value.
"""

from __future__ import annotations

from broker_bridge.filters.attribute_filter import AttributeFilter

__all__ = ["SuffixFilter"]


class SuffixFilter(AttributeFilter):
    """Every listed attribute is present and ends with its value."""

    __slots__ = ()
    dialect = "suffix"

    @staticmethod
    def test(value: str, expected: str) -> bool:
        return value.endswith(expected)
