"""The ``LIKE`` and ``IN`` predicates of CESQL (spec v1, sections 3.4.3 and 3.4.5).

Built by ``cesql.parser``. Both do their work once, at parse time, where possible:

* a ``LIKE`` pattern (always a string literal) is compiled into the cheapest test that
  implements it: equality, ``startswith``, ``endswith``, ``in``, or an anchored regular
  expression. ``%`` is any run of characters, ``_`` exactly one, ``\\%`` and ``\\_`` are
  the literal characters, and a backslash before anything else is itself literal.
* an ``IN`` whose elements are all literals keeps one frozen set per left-operand type
  (the left operand's type is the cast target), so a look-up is one hash probe.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from broker_bridge.cesql.errors import ErrorKind
from broker_bridge.cesql.nodes import Literal, Node, abort
from broker_bridge.cesql.values import CastFailed, Value, ValueType, cast_implicit, to_string

__all__ = ["In", "Like", "compile_like"]

_ANY = object()
_ONE = object()


def _pattern_parts(pattern: str) -> list[object]:
    parts: list[object] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern) and pattern[index + 1] in "%_":
            parts.append(pattern[index + 1])
            index += 2
            continue
        parts.append(_ANY if char == "%" else _ONE if char == "_" else char)
        index += 1
    return parts


def compile_like(pattern: str) -> Callable[[str], bool]:
    """A test for ``value LIKE pattern``, as fast as the pattern allows."""
    parts = _pattern_parts(pattern)
    wild = [i for i, part in enumerate(parts) if part is _ANY or part is _ONE]
    literal = "".join(p for p in parts if isinstance(p, str))
    if not wild:
        return literal.__eq__
    if all(parts[i] is _ANY for i in wild):
        last = len(parts) - 1
        if wild == [last]:
            return lambda value: value.startswith(literal)
        if wild == [0]:
            return lambda value: value.endswith(literal)
        if wild == [0, last]:
            return lambda value: literal in value
    regex = "".join(
        ".*" if part is _ANY else "." if part is _ONE else re.escape(str(part)) for part in parts
    )
    fullmatch = re.compile(regex, re.DOTALL).fullmatch
    return lambda value: fullmatch(value) is not None


class Like(Node):
    """``x [NOT] LIKE 'pattern'``; ``x`` is cast to String."""

    __slots__ = ("match", "negated", "operand", "pattern")
    result_type = ValueType.BOOLEAN

    def __init__(self, operand: Node, pattern: str, *, negated: bool = False) -> None:
        self.operand = operand
        self.pattern = pattern
        self.negated = negated
        self.match = compile_like(pattern)

    def eval(self, attributes: Mapping[str, Any]) -> Value:
        value = self.operand.eval(attributes)
        if type(value) is not str:
            value = to_string(value)
        return self.match(value) != self.negated

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)

    def to_text(self) -> str:
        keyword = "NOT LIKE" if self.negated else "LIKE"
        return f"({self.operand.to_text()} {keyword} {Literal(self.pattern).to_text()})"


def _literal_sets(elements: tuple[Node, ...]) -> dict[type, frozenset[Value]] | None:
    if not all(isinstance(element, Literal) for element in elements):
        return None
    values = [element.value for element in elements if isinstance(element, Literal)]
    sets: dict[type, frozenset[Value]] = {}
    for target in (True, 0, ""):
        try:
            sets[type(target)] = frozenset(cast_implicit(value, target) for value in values)
        except CastFailed:
            continue  # evaluated element by element, to report the cast error in order
    return sets


class In(Node):
    """``x [NOT] IN (y1, y2, ...)``; each ``yN`` is cast to the type of ``x``."""

    __slots__ = ("elements", "literal_sets", "negated", "operand")
    result_type = ValueType.BOOLEAN

    def __init__(self, operand: Node, elements: tuple[Node, ...], *, negated: bool = False) -> None:
        self.operand = operand
        self.elements = elements
        self.negated = negated
        self.literal_sets = _literal_sets(elements)

    def eval(self, attributes: Mapping[str, Any]) -> Value:
        value = self.operand.eval(attributes)
        kind = type(value)
        if self.literal_sets is not None:
            members = self.literal_sets.get(kind)
            if members is not None:
                return (value in members) != self.negated
        for element in self.elements:
            candidate = element.eval(attributes)
            if type(candidate) is not kind:
                try:
                    candidate = cast_implicit(candidate, value)
                except CastFailed as exc:
                    abort(self, ErrorKind.CAST, str(exc), False)
            if candidate == value:
                return not self.negated
        return self.negated

    def children(self) -> tuple[Node, ...]:
        return (self.operand, *self.elements)

    def to_text(self) -> str:
        keyword = "NOT IN" if self.negated else "IN"
        items = ", ".join(element.to_text() for element in self.elements)
        return f"({self.operand.to_text()} {keyword} ({items}))"
