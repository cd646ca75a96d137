"""The ``not`` dialect: ``{"not": filter}`` passes when the filter does not.

So ``{"not": {"exact": {"subject": "x"}}}`` passes events without a ``subject``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from broker_bridge.filters.base import Filter

__all__ = ["NotFilter"]


class NotFilter(Filter):
    """Negation of one filter."""

    __slots__ = ("filter",)

    def __init__(self, negated: Filter) -> None:
        self.filter = negated

    def match_attributes(self, attributes: Mapping[str, Any]) -> bool:
        return not self.filter.match_attributes(attributes)

    @property
    def spec(self) -> Any:
        return {"not": self.filter.spec}
