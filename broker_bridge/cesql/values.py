"""The CESQL type system: the three value types, their zero values and the casts.

Spec v1, sections 3.1 and 3.7. Values are plain Python ``bool``, ``int`` (always within
32-bit signed range) and ``str``; beware that ``bool`` is a subclass of ``int`` in
Python, so the code here compares ``type(v) is ...`` and never uses ``isinstance``.

Implicit casts (done by operators and functions) follow the TCK: ``Integer -> Boolean``
is refused implicitly (``NOT 10`` is a cast error) but allowed explicitly (``BOOL(10)``).
A failed cast raises :class:`CastFailed`, which the calling node turns into a ``cast``
error. Used by the nodes, the functions and the parser of ``broker_bridge.cesql``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import Enum

__all__ = [
    "INT32_MAX",
    "INT32_MIN",
    "CastFailed",
    "Value",
    "ValueType",
    "cast_implicit",
    "to_bool",
    "to_bool_explicit",
    "to_int",
    "to_string",
    "type_of",
    "wrap_int32",
]

Value = bool | int | str
"""A CESQL value: Boolean, Integer (32-bit signed) or String."""

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1

_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")


class ValueType(Enum):
    """The primitive CESQL types, each with its zero value (spec v1, section 3.1)."""

    BOOLEAN = "Boolean"
    INTEGER = "Integer"
    STRING = "String"

    @property
    def zero(self) -> Value:
        """The zero value: ``false``, ``0`` or ``""``."""
        return _ZEROS[self]


_ZEROS: dict[ValueType, Value] = {
    ValueType.BOOLEAN: False,
    ValueType.INTEGER: 0,
    ValueType.STRING: "",
}


class CastFailed(Exception):
    """Internal: a value cannot be cast to the wanted type; carries the reason."""


def type_of(value: Value) -> ValueType:
    """The CESQL type of a Python value."""
    kind = type(value)
    if kind is bool:
        return ValueType.BOOLEAN
    if kind is int:
        return ValueType.INTEGER
    return ValueType.STRING


def wrap_int32(value: int) -> int:
    """Two's complement wrap of an integer into the 32-bit signed range."""
    return ((value - INT32_MIN) % 2**32) + INT32_MIN


def to_string(value: Value) -> str:
    """Any value as a String: booleans as ``true``/``false``, integers in base 10."""
    if type(value) is str:
        return value
    if type(value) is bool:
        return "true" if value else "false"
    return str(value)


def to_int(value: Value) -> int:
    """Cast to Integer; strings must be a base-10 32-bit integer with optional sign."""
    if type(value) is int:
        return value
    if type(value) is bool:
        return 1 if value else 0
    text = str(value)
    if not _INTEGER_TEXT.fullmatch(text):
        raise CastFailed(f"cannot cast {text!r} to Integer")
    number = int(text)
    if number < INT32_MIN or number > INT32_MAX:
        raise CastFailed(f"{text!r} overflows a 32-bit Integer")
    return number


def to_bool(value: Value) -> bool:
    """Implicit cast to Boolean: strings ``true``/``false`` (any case); not integers."""
    if type(value) is bool:
        return value
    if type(value) is str:
        lowered = value.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
        raise CastFailed(f"cannot cast {value!r} to Boolean")
    raise CastFailed(f"cannot implicitly cast Integer {value} to Boolean")


def to_bool_explicit(value: Value) -> bool:
    """Explicit cast to Boolean (``BOOL``): as :func:`to_bool`, plus ``0`` is false."""
    if type(value) is int:
        return value != 0
    return to_bool(value)


_IMPLICIT: dict[type, Callable[[Value], Value]] = {bool: to_bool, int: to_int, str: to_string}


def cast_implicit(value: Value, like: Value) -> Value:
    """Cast ``value`` to the type of ``like`` (the ambiguous-operator rule of 3.7)."""
    target = type(like)
    if type(value) is target:
        return value
    return _IMPLICIT[target](value)
