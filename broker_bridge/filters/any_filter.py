"""The ``any`` dialect: ``{"any": [filter, ...]}`` passes when one filter passes.

Children are tried in order and the first success decides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from broker_bridge.filters.base import Filter
from broker_bridge.filters.errors import InvalidFilterError

__all__ = ["AnyFilter"]


class AnyFilter(Filter):
    """Disjunction of one or more filters."""

    __slots__ = ("filters",)

    def __init__(self, filters: Sequence[Filter], path: str = "any") -> None:
        if not filters:
            raise InvalidFilterError(path, list(filters), "any needs at least one filter")
        self.filters = tuple(filters)

    def match_attributes(self, attributes: Mapping[str, Any]) -> bool:
        for child in self.filters:  # noqa: SIM110 - a plain loop beats any(<genexpr>) here
            if child.match_attributes(attributes):
                return True
        return False

    @property
    def spec(self) -> Any:
        return {"any": [child.spec for child in self.filters]}
