"""The contract every compiled filter follows, and the filter that matches everything.

A filter is compiled once from its declarative spec (``compile.compile_filter``) into a
tree of small immutable objects, one class per dialect (Knative Eventing's layout), and
then asked per event. ``matches`` takes a ``cloudevents.core`` CloudEvent or a Mapping
of attributes; ``match_attributes`` takes the mapping directly and is what the routing
table calls for every event. Subclassed by every ``*_filter`` module of the package.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from broker_bridge.cesql.attributes import attributes_of

__all__ = ["Filter", "MatchAll"]


class Filter(ABC):
    """A compiled Subscriptions API filter."""

    __slots__ = ()

    def matches(self, event: Any) -> bool:
        """Whether ``event`` (CloudEvent or Mapping of attributes) passes the filter."""
        return self.match_attributes(attributes_of(event))

    @abstractmethod
    def match_attributes(self, attributes: Mapping[str, Any]) -> bool:
        """Whether an event with these attributes passes (``None`` values are absent)."""

    @property
    @abstractmethod
    def spec(self) -> Any:
        """The declarative spec this filter implements (JSON-shaped)."""

    def __repr__(self) -> str:
        return f"compile_filter({self.spec!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.spec == self.spec

    def __hash__(self) -> int:
        return hash(repr(self))


class MatchAll(Filter):
    """No filter at all (an empty list of filters): every event passes."""

    __slots__ = ()

    def match_attributes(self, attributes: Mapping[str, Any]) -> bool:
        return True

    @property
    def spec(self) -> Any:
        return []
