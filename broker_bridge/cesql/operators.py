"""The binary operators of CESQL: logic, comparison and 32-bit integer arithmetic.

Built by ``cesql.parser``, evaluated per event through ``Node.eval``. Semantics (spec
v1, sections 3.4.2 and 3.7, as the TCK checks them):

* ``AND``/``OR`` short-circuit (a chain of the same operator is one n-ary node);
  ``XOR`` evaluates both sides. Operands are cast to Boolean.
* ``=``, ``!=``, ``<>`` are ambiguous: the left operand is cast to the right one's type.
* ``<``, ``<=``, ``>``, ``>=`` and the arithmetic operators cast both sides to Integer.
* ``/`` and ``%`` truncate toward zero; by zero they give ``0`` and a ``math`` error.
  Results outside 32 bits wrap (two's complement, as Go and Java engines do) and also
  report a ``math`` error, so a filter never matches on an overflowed value.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from broker_bridge.cesql.errors import ErrorKind
from broker_bridge.cesql.nodes import Node, abort
from broker_bridge.cesql.values import (
    INT32_MAX,
    INT32_MIN,
    CastFailed,
    Value,
    ValueType,
    cast_implicit,
    to_bool,
    to_int,
    wrap_int32,
)

__all__ = [
    "COMPARISON",
    "And",
    "Arithmetic",
    "Equal",
    "NotEqual",
    "Or",
    "Ordering",
    "Xor",
]


class _Logical(Node):
    """An n-ary short-circuit ``AND`` or ``OR``."""

    __slots__ = ("operands",)
    result_type = ValueType.BOOLEAN
    symbol = ""
    #: the operand value that decides the result without looking further
    deciding = False

    def __init__(self, left: Node, right: Node) -> None:
        cls = type(self)
        self.operands: tuple[Node, ...] = (
            *(left.operands if type(left) is cls else (left,)),
            *(right.operands if type(right) is cls else (right,)),
        )

    def eval(self, attributes: Mapping[str, Any]) -> Value:
        deciding = self.deciding
        for operand in self.operands:
            value = operand.eval(attributes)
            if type(value) is not bool:
                try:
                    value = to_bool(value)
                except CastFailed as exc:
                    abort(self, ErrorKind.CAST, str(exc), False)
            if value is deciding:
                return deciding
        return not deciding

    def children(self) -> tuple[Node, ...]:
        return self.operands

    def to_text(self) -> str:
        return "(" + f" {self.symbol} ".join(o.to_text() for o in self.operands) + ")"


class And(_Logical):
    """``x AND y AND ...``: false as soon as one operand is false."""

    __slots__ = ()
    symbol = "AND"
    deciding = False


class Or(_Logical):
    """``x OR y OR ...``: true as soon as one operand is true."""

    __slots__ = ()
    symbol = "OR"
    deciding = True


class _Binary(Node):
    __slots__ = ("left", "right")
    symbol = ""

    def __init__(self, left: Node, right: Node) -> None:
        self.left = left
        self.right = right

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)

    def to_text(self) -> str:
        return f"({self.left.to_text()} {self.symbol} {self.right.to_text()})"


class Xor(_Binary):
    """``x XOR y`` (both sides always evaluated)."""

    __slots__ = ()
    symbol = "XOR"
    result_type = ValueType.BOOLEAN

    def eval(self, attributes: Mapping[str, Any]) -> Value:
        left = self.left.eval(attributes)
        right = self.right.eval(attributes)
        try:
            return to_bool(left) != to_bool(right)
        except CastFailed as exc:
            abort(self, ErrorKind.CAST, str(exc), False)


class Equal(_Binary):
    """``x = y``: ``x`` is cast to the type of ``y``; strings compare case-sensitively."""

    __slots__ = ()
    symbol = "="
    result_type = ValueType.BOOLEAN

    def eval(self, attributes: Mapping[str, Any]) -> Value:
        left = self.left.eval(attributes)
        right = self.right.eval(attributes)
        if type(left) is not type(right):
            try:
                left = cast_implicit(left, right)
            except CastFailed as exc:
                abort(self, ErrorKind.CAST, str(exc), False)
        return left == right


class NotEqual(_Binary):
    """``x != y`` and ``x <> y``: ``NOT (x = y)``."""

    __slots__ = ()
    symbol = "!="
    result_type = ValueType.BOOLEAN

    def eval(self, attributes: Mapping[str, Any]) -> Value:
        left = self.left.eval(attributes)
        right = self.right.eval(attributes)
        if type(left) is not type(right):
            try:
                left = cast_implicit(left, right)
            except CastFailed as exc:
                abort(self, ErrorKind.CAST, str(exc), False)
        return left != right


class Ordering(_Binary):
    """``<``, ``<=``, ``>``, ``>=`` over Integers."""

    __slots__ = ("compare", "symbol")
    result_type = ValueType.BOOLEAN

    def __init__(self, symbol: str, left: Node, right: Node) -> None:
        super().__init__(left, right)
        self.symbol = symbol
        self.compare: Callable[[int, int], bool] = _ORDERINGS[symbol]

    def eval(self, attributes: Mapping[str, Any]) -> Value:
        left = self.left.eval(attributes)
        right = self.right.eval(attributes)
        try:
            return self.compare(to_int(left), to_int(right))
        except CastFailed as exc:
            abort(self, ErrorKind.CAST, str(exc), False)


def _divide(left: int, right: int) -> int:
    quotient = abs(left) // abs(right)
    return quotient if (left < 0) == (right < 0) else -quotient


def _modulo(left: int, right: int) -> int:
    return left - right * _divide(left, right)


class Arithmetic(_Binary):
    """``*``, ``/``, ``%``, ``+``, ``-`` over 32-bit Integers."""

    __slots__ = ("compute", "divides", "symbol")
    result_type = ValueType.INTEGER

    def __init__(self, symbol: str, left: Node, right: Node) -> None:
        super().__init__(left, right)
        self.symbol = symbol
        self.compute: Callable[[int, int], int] = _ARITHMETIC[symbol]
        self.divides = symbol in ("/", "%")

    def eval(self, attributes: Mapping[str, Any]) -> Value:
        left = self.left.eval(attributes)
        right = self.right.eval(attributes)
        try:
            a = to_int(left)
            b = to_int(right)
        except CastFailed as exc:
            abort(self, ErrorKind.CAST, str(exc), 0)
        if b == 0 and self.divides:
            abort(self, ErrorKind.MATH, f"division by zero in {self.to_text()}", 0)
        result = self.compute(a, b)
        if result < INT32_MIN or result > INT32_MAX:
            wrapped = wrap_int32(result)
            abort(self, ErrorKind.MATH, f"integer overflow: {result} wraps to {wrapped}", wrapped)
        return result


_ORDERINGS: dict[str, Callable[[int, int], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ARITHMETIC: dict[str, Callable[[int, int], int]] = {
    "*": operator.mul,
    "/": _divide,
    "%": _modulo,
    "+": operator.add,
    "-": operator.sub,
}

#: comparison symbols the parser accepts
COMPARISON = frozenset({"=", "!=", "<>", *_ORDERINGS})
