"""The ``all`` dialect: ``{"all": [filter, ...]}`` passes when every filter passes.

A list of filters given to ``compile_filter`` (or a subscription's ``filters``) is the
same conjunction. Children are tried in order and the first failure decides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from broker_bridge.filters.base import Filter
from broker_bridge.filters.errors import InvalidFilterError

__all__ = ["AllFilter"]


class AllFilter(Filter):
    """Conjunction of one or more filters."""

    __slots__ = ("filters",)

    def __init__(self, filters: Sequence[Filter], path: str = "all") -> None:
        if not filters:
            raise InvalidFilterError(path, list(filters), "all needs at least one filter")
        self.filters = tuple(filters)

    def match_attributes(self, attributes: Mapping[str, Any]) -> bool:
        for child in self.filters:  # noqa: SIM110 - a plain loop beats all(<genexpr>) here
            if not child.match_attributes(attributes):
                return False
        return True

    @property
    def spec(self) -> Any:
        return {"all": [child.spec for child in self.filters]}
