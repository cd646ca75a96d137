"""The base of CESQL expression trees, and the leaves and unary operators.

The parser (``cesql.parser``) builds a tree of small immutable node objects once;
``Expression.evaluate`` then calls ``root.eval(attributes)`` per event. A node returns
a :data:`~broker_bridge.cesql.values.Value` or, on the first error, raises
:class:`~broker_bridge.cesql.errors.EvaluationAborted` carrying the error and its own
value: evaluation is fail fast, and every enclosing node evaluates to the zero value of
its type (spec v1, sections 3.2 and 3.3; this is what the TCK expects, e.g.
``true AND (1 != 1 / 0)`` is ``false`` with a ``math`` error).

This module holds :class:`Node`, :class:`Literal`, :class:`Attribute`, :class:`Exists`,
:class:`Not` and :class:`Negate`; binary operators live in ``cesql.operators``, LIKE and
IN in ``cesql.predicates``, function calls in ``cesql.calls``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from broker_bridge.cesql.attributes import to_value
from broker_bridge.cesql.errors import ErrorKind, EvaluationAborted, EvaluationError
from broker_bridge.cesql.values import (
    INT32_MIN,
    CastFailed,
    Value,
    ValueType,
    to_bool,
    to_int,
    to_string,
    type_of,
)

__all__ = ["Attribute", "Exists", "Literal", "Negate", "Node", "Not", "abort"]


def abort(node: Node, kind: ErrorKind, message: str, value: Value) -> NoReturn:
    """Stop the evaluation: ``node`` met an error of ``kind`` and evaluates to ``value``."""
    raise EvaluationAborted(EvaluationError(kind, message), value, node)


class Node:
    """One operation of a compiled expression; immutable and shared across threads."""

    __slots__ = ()

    #: The static type of the result; ``None`` when it depends on the event (attributes).
    result_type: ValueType | None = None

    @property
    def zero(self) -> Value:
        """What this node evaluates to when a sub-expression failed (Boolean if unknown)."""
        return self.result_type.zero if self.result_type is not None else False

    def eval(self, attributes: Mapping[str, Any]) -> Value:
        """The value of this node for one event's attributes (may raise ``abort``)."""
        raise NotImplementedError

    def children(self) -> tuple[Node, ...]:
        """The direct sub-expressions (for static checks and depth limits)."""
        return ()

    def to_text(self) -> str:
        """A fully parenthesized rendering: shows how the parser grouped the text."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.to_text()}>"


class Literal(Node):
    """A boolean, integer or string literal."""

    __slots__ = ("result_type", "value")

    def __init__(self, value: Value) -> None:
        self.value = value
        self.result_type = type_of(value)

    def eval(self, attributes: Mapping[str, Any]) -> Value:
        return self.value

    def to_text(self) -> str:
        if type(self.value) is str:
            return "'" + self.value.replace("'", "''") + "'"
        return to_string(self.value).upper() if type(self.value) is bool else str(self.value)


class Attribute(Node):
    """A context attribute or extension, by its (lowercase) name."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def eval(self, attributes: Mapping[str, Any]) -> Value:
        raw = attributes.get(self.name)
        if raw is None:
            abort(self, ErrorKind.MISSING_ATTRIBUTE, f"attribute {self.name!r} is missing", False)
        kind = type(raw)
        if kind is str or kind is bool:
            return raw  # type: ignore[no-any-return]
        return to_value(raw)

    def to_text(self) -> str:
        return self.name


class Exists(Node):
    """``EXISTS name``: whether the event carries the attribute."""

    __slots__ = ("name",)
    result_type = ValueType.BOOLEAN

    def __init__(self, name: str) -> None:
        self.name = name

    def eval(self, attributes: Mapping[str, Any]) -> Value:
        return attributes.get(self.name) is not None

    def to_text(self) -> str:
        return f"(EXISTS {self.name})"


class Not(Node):
    """``NOT x``: Boolean negation; ``x`` is cast to Boolean (integers are refused)."""

    __slots__ = ("operand",)
    result_type = ValueType.BOOLEAN

    def __init__(self, operand: Node) -> None:
        self.operand = operand

    def eval(self, attributes: Mapping[str, Any]) -> Value:
        value = self.operand.eval(attributes)
        if type(value) is bool:
            return not value
        try:
            return not to_bool(value)
        except CastFailed as exc:
            # The failed cast yields false, so NOT yields true (TCK: ``NOT 10``).
            abort(self, ErrorKind.CAST, str(exc), True)

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)

    def to_text(self) -> str:
        return f"(NOT {self.operand.to_text()})"


class Negate(Node):
    """``-x``: Integer negation; ``x`` is cast to Integer."""

    __slots__ = ("operand",)
    result_type = ValueType.INTEGER

    def __init__(self, operand: Node) -> None:
        self.operand = operand

    def eval(self, attributes: Mapping[str, Any]) -> Value:
        value = self.operand.eval(attributes)
        try:
            number = to_int(value)
        except CastFailed as exc:
            abort(self, ErrorKind.CAST, str(exc), 0)
        if number == INT32_MIN:
            abort(self, ErrorKind.MATH, "integer overflow in -(-2147483648)", INT32_MIN)
        return -number

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)

    def to_text(self) -> str:
        return f"(-{self.operand.to_text()})"
