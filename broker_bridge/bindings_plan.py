"""Which subscriptions the broker routes by itself, and which the bridge must evaluate.

Pure logic, no I/O: from a subscription table (as ``(function, compiled filter)``
pairs in table order) :func:`plan` derives

* the **native** bindings: for every subscription whose whole filter the broker can
  express (``exact`` on ``type`` alone, or ``any`` of such), one binding of the
  function's queue to the topic exchange per exact type; RabbitMQ (or kombu's
  virtual exchange) then copies every published event into each matching queue;
* the **bridge patterns**: binding keys for the bridge's own queue that
  over-approximate every other subscription: the exact type when its conjunction
  holds one, ``word.#`` for a type prefix that ends at a word boundary (``.``),
  ``#`` otherwise (CESQL, suffix, ``not``, other attributes...);
* :meth:`Plan.served`: for an event the bridge received, the functions the broker
  already delivered it to (the native subscribers of its type, when it was published
  to the exchange with its type as routing key); the bridge publishes to every
  other matching function. So each (event, function) pair is served
  by exactly one path: published with the type as key, exact subscribers get it
  from the broker and the rest from the bridge; published with any other key (a
  foreign producer), it reaches the bridge through a pattern or the alternate
  exchange and the bridge routes it fully, while workers discard copies that a
  binding delivered for a key that is not the type (see ``worker_runtime.consumer``).

A type is usable as a binding key only if no word of it is ``*`` or ``#`` (the topic
wildcards) and it fits in a routing key (255 bytes); other types stay on the bridge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from broker_bridge.cesql.attributes import canonical_string
from broker_bridge.filters import AllFilter, AnyFilter, ExactFilter, Filter, MatchAll, PrefixFilter

__all__ = ["MAX_KEY_BYTES", "Plan", "bindable", "plan", "routing_key_for"]

MAX_KEY_BYTES = 255
_EVERYTHING = "#"

#: Given an event's attributes, the functions the broker already delivered it to.
Served = Callable[[Mapping[str, Any]], frozenset[str]]


def bindable(event_type: str) -> bool:
    """Whether ``event_type`` can be a topic binding key that matches only itself."""
    if len(event_type.encode()) > MAX_KEY_BYTES:
        return False
    return not any(word in ("*", "#") for word in event_type.split("."))


def routing_key_for(event_type: Any) -> str:
    """The routing key a publisher uses for an event of ``event_type``: the type, or
    ``""`` when the type cannot be a key (the bridge then routes the event fully)."""
    text = event_type if type(event_type) is str else canonical_string(event_type)
    return text if len(text.encode()) <= MAX_KEY_BYTES else ""


def _native_types(compiled: Filter) -> frozenset[str] | None:
    """The exact types a filter is equivalent to, or None when it is more than that."""
    if isinstance(compiled, ExactFilter):
        items = dict(compiled.items)
        if set(items) == {"type"} and bindable(items["type"]):
            return frozenset([items["type"]])
        return None
    if isinstance(compiled, AllFilter) and len(compiled.filters) == 1:
        return _native_types(compiled.filters[0])
    if isinstance(compiled, AnyFilter):
        types: set[str] = set()
        for child in compiled.filters:
            child_types = _native_types(child)
            if child_types is None:
                return None
            types |= child_types
        return frozenset(types)
    return None


def _prefix_pattern(prefix: str) -> str:
    """A topic pattern matching every type that starts with ``prefix``."""
    if "." not in prefix:
        return _EVERYTHING
    head = prefix[: prefix.rindex(".")]
    if not head or not bindable(head + ".x"):
        return _EVERYTHING
    return f"{head}.#"


def _patterns(compiled: Filter) -> frozenset[str]:
    """Binding keys that together match at least every event ``compiled`` passes."""
    if isinstance(compiled, ExactFilter):
        event_type = dict(compiled.items).get("type")
        if event_type is not None and bindable(event_type):
            return frozenset([event_type])
        return frozenset([_EVERYTHING])
    if isinstance(compiled, PrefixFilter):
        prefix = dict(compiled.items).get("type")
        return frozenset([_prefix_pattern(prefix) if prefix else _EVERYTHING])
    if isinstance(compiled, AllFilter):
        # a conjunction passes only what each part passes: the narrowest part will do
        best: frozenset[str] | None = None
        for child in compiled.filters:
            child_patterns = _patterns(child)
            if _EVERYTHING in child_patterns:
                continue
            if best is None or len(child_patterns) < len(best):
                best = child_patterns
        return best if best is not None else frozenset([_EVERYTHING])
    if isinstance(compiled, AnyFilter):
        union: set[str] = set()
        for child in compiled.filters:
            union |= _patterns(child)
        return frozenset([_EVERYTHING]) if _EVERYTHING in union else frozenset(union)
    return frozenset([_EVERYTHING])  # sql, suffix, not, match-all


@dataclass(frozen=True)
class Plan:
    """The bindings for one subscription table and the bridge's share of routing."""

    #: function -> exact types the broker routes to its queue
    native: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: binding keys of the bridge's own queue (empty: no subscription needs the bridge)
    bridge_patterns: frozenset[str] = frozenset()
    #: type -> functions the broker delivers an event of that type to
    delivered: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def bindings(self, function_queue: Any, bridge_queue: str) -> set[tuple[str, str]]:
        """Every ``(queue, binding key)`` pair the topic exchange must have."""
        pairs = {
            (function_queue(function), event_type)
            for function, types in self.native.items()
            for event_type in types
        }
        pairs.update((bridge_queue, pattern) for pattern in self.bridge_patterns)
        return pairs

    @classmethod
    def of_bindings(cls, pairs: Iterable[tuple[str, str]], function_of: Any) -> Plan:
        """The plan the broker already carries out, from its ``(queue, key)`` bindings;
        ``function_of(queue)`` names the function of a function queue (else None)."""
        delivered: dict[str, set[str]] = {}
        for queue, key in pairs:
            function = function_of(queue)
            if function is not None:
                delivered.setdefault(key, set()).add(function)
        return cls(delivered={k: frozenset(v) for k, v in delivered.items()})

    def served(self, routing_key: str | None) -> Served | None:
        """For an event that came from the exchange with ``routing_key`` (None: not
        from the exchange), the functions the broker already delivered it to, as a
        function of its attributes; None when the broker delivered it nowhere."""
        if routing_key is None:
            return None
        done = self.delivered.get(routing_key)
        if not done:
            return None

        def served(attributes: Mapping[str, Any]) -> frozenset[str]:
            event_type = attributes.get("type")
            if event_type is not None and type(event_type) is not str:
                event_type = canonical_string(event_type)
            # a binding matched the key; it matched the event only if the key is its type
            return done if event_type == routing_key else frozenset()

        return served


def plan(entries: Iterable[tuple[str, Filter]]) -> Plan:
    """The plan for ``(function, compiled filter)`` pairs (one per subscription)."""
    native: dict[str, set[str]] = {}
    patterns: set[str] = set()
    for function, compiled in entries:
        if isinstance(compiled, MatchAll):
            patterns.add(_EVERYTHING)
            continue
        exact_types = _native_types(compiled)
        if exact_types is not None:
            native.setdefault(function, set()).update(exact_types)
        else:
            patterns |= _patterns(compiled)
    if _EVERYTHING in patterns:
        patterns = {_EVERYTHING}
    delivered: dict[str, set[str]] = {}
    for function, types in native.items():
        for event_type in types:
            delivered.setdefault(event_type, set()).add(function)
    return Plan(
        native={f: frozenset(t) for f, t in native.items()},
        bridge_patterns=frozenset(patterns),
        delivered={t: frozenset(f) for t, f in delivered.items()},
    )
