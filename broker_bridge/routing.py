"""The routing index: which functions an event goes to, decided per event by the bridge.

Pure decision logic, no I/O. Built once from a
:class:`~broker_bridge.subscriptions.SubscriptionTable` with
:meth:`RoutingTable.from_subscriptions`; ``route(attributes)`` is then called for every
event (it is also the bridge's ``Router`` callable).

Index: a subscription whose filter conjunction contains an ``exact`` on ``type`` (at the
top level or inside a top-level ``all``) is filed under that type and found with one
dict look-up; only its remaining filters are then evaluated (when there are none, the
answer for the type is precomputed). Every other subscription is evaluated in table
order. So the cost of routing does not grow with the number of exact-type
subscriptions, only with the number of subscriptions on the event's own type and of
non-indexable ones. The result lists each function once, in table order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from broker_bridge.cesql.attributes import attributes_of, canonical_string
from broker_bridge.filters import AllFilter, ExactFilter, Filter, MatchAll
from broker_bridge.subscriptions import Subscription, SubscriptionTable

__all__ = ["RoutingTable", "split_type"]

# (position in the table, function, filter still to evaluate or None)
_Entry = tuple[int, str, Filter | None]


def _conjunction(filters: list[Filter]) -> Filter | None:
    if not filters:
        return None
    return filters[0] if len(filters) == 1 else AllFilter(filters)


def split_type(compiled: Filter) -> tuple[str | None, Filter | None]:
    """``(type, rest)``: the event type an ``exact`` filter in the conjunction requires
    (``None`` if none does) and the filter still to evaluate (``None`` if nothing is)."""
    if isinstance(compiled, ExactFilter) and "type" in compiled.attributes:
        others = {k: v for k, v in compiled.items if k != "type"}
        return compiled.attributes["type"], ExactFilter(others) if others else None
    if isinstance(compiled, AllFilter):
        children = list(compiled.filters)
        for index, child in enumerate(children):
            event_type, rest = split_type(child)
            if event_type is not None:
                remaining = children[:index] + ([rest] if rest else []) + children[index + 1 :]
                return event_type, _conjunction(remaining)
    if isinstance(compiled, MatchAll):
        return None, None
    return None, compiled


class RoutingTable:
    """Subscriptions indexed for routing; immutable once built, safe across threads."""

    __slots__ = ("_answers", "_by_type", "_scanned", "_size")

    def __init__(self, entries: Iterable[tuple[str, Filter]]) -> None:
        """Index ``(function, compiled filter)`` pairs, in table order."""
        by_type: dict[str, list[_Entry]] = {}
        scanned: list[_Entry] = []
        size = 0
        for order, (function, compiled) in enumerate(entries):
            size += 1
            event_type, rest = split_type(compiled)
            if event_type is None:
                scanned.append((order, function, rest))
            else:
                by_type.setdefault(event_type, []).append((order, function, rest))
        self._scanned = tuple(scanned)
        # Per type, either the precomputed answer (nothing else needs evaluating) or the
        # entries whose remaining filters are evaluated per event.
        self._answers: dict[str, tuple[str, ...]] = {}
        self._by_type: dict[str, tuple[_Entry, ...]] = {}
        for event_type, bucket in by_type.items():
            if not scanned and all(rest is None for _, _, rest in bucket):
                self._answers[event_type] = tuple(dict.fromkeys(fn for _, fn, _ in bucket))
            else:
                self._by_type[event_type] = tuple(bucket)
        self._size = size

    @classmethod
    def from_subscriptions(cls, table: SubscriptionTable | Iterable[Subscription]) -> RoutingTable:
        """The index of a subscription table (or of subscriptions in table order)."""
        subscriptions = table.subscriptions if isinstance(table, SubscriptionTable) else table
        return cls((subscription.function, subscription.filter) for subscription in subscriptions)

    def route(self, attributes: Mapping[str, Any]) -> tuple[str, ...]:
        """The functions that take an event with these attributes (each once, in table
        order; empty when none does). A CloudEvent is accepted too."""
        if type(attributes) is not dict:
            attributes = attributes_of(attributes)
        event_type = attributes.get("type")
        matched: list[_Entry] = []
        if event_type is not None:
            if type(event_type) is not str:
                event_type = canonical_string(event_type)
            answer = self._answers.get(event_type)
            if answer is not None:
                return answer
            for entry in self._by_type.get(event_type, ()):
                rest = entry[2]
                if rest is None or rest.match_attributes(attributes):
                    matched.append(entry)
        indexed = len(matched)
        for entry in self._scanned:
            rest = entry[2]
            if rest is None or rest.match_attributes(attributes):
                matched.append(entry)
        if not matched:
            return ()
        if indexed and len(matched) > indexed:
            matched.sort()
        return tuple(dict.fromkeys(function for _, function, _ in matched))

    __call__ = route

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        indexed = self._size - len(self._scanned)
        types = len(self._answers) + len(self._by_type)
        return (
            f"<RoutingTable {self._size} subscriptions: {indexed} indexed on "
            f"{types} types, {len(self._scanned)} evaluated in order>"
        )
