"""The built-in functions of CESQL and their dispatch by name and arity.

Spec v1, section 3.5: functions are case-insensitive, overloaded by arity (a variadic
overload must have more fixed parameters than any other overload of the name), and
their arguments are implicitly cast to the parameter types. Besides the spec's string
and math built-ins this has the casting functions the TCK uses (``INT``, ``BOOL``,
``STRING``) and the draft's ``IS_BOOL``/``IS_INT``.

A function that meets an error still returns a value of its type (``LEFT('abc', -2)``
is ``'abc'`` with a ``functionEvaluation`` error) by raising :class:`FunctionFailed`.
The parser resolves every call once (``resolve``); ``cesql.calls`` evaluates it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from broker_bridge.cesql.errors import ErrorKind
from broker_bridge.cesql.values import (
    INT32_MAX,
    INT32_MIN,
    CastFailed,
    Value,
    ValueType,
    to_bool,
    to_bool_explicit,
    to_int,
    to_string,
)

__all__ = ["BUILTINS", "Function", "FunctionFailed", "caster", "resolve"]

# Unicode White_Space characters (TRIM removes these and nothing else, spec 3.5.1).
_WHITESPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


class FunctionFailed(Exception):
    """Internal: a function met an error; ``value`` is what it returns anyway."""

    def __init__(self, kind: ErrorKind, message: str, value: Value) -> None:
        self.kind = kind
        self.message = message
        self.value = value
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Function:
    """One overload: fixed parameter types (``None``: any type, no cast), the type of
    the extra arguments when variadic, the result type and the implementation."""

    name: str
    params: tuple[ValueType | None, ...]
    result_type: ValueType
    impl: Callable[[Sequence[Value]], Value]
    variadic: ValueType | None = None
    is_variadic: bool = False

    def accepts(self, count: int) -> bool:
        """Whether this overload takes ``count`` arguments."""
        fixed = len(self.params)
        return count >= fixed if self.is_variadic else count == fixed

    def param_type(self, index: int) -> ValueType | None:
        """The type argument ``index`` is cast to (``None``: left as it is)."""
        return self.params[index] if index < len(self.params) else self.variadic


_CASTERS: dict[ValueType, Callable[[Value], Value]] = {
    ValueType.BOOLEAN: to_bool,
    ValueType.INTEGER: to_int,
    ValueType.STRING: to_string,
}


def caster(kind: ValueType | None) -> Callable[[Value], Value] | None:
    """The implicit cast to ``kind`` (``None`` for parameters that take any type)."""
    return None if kind is None else _CASTERS[kind]


def _str(args: Sequence[Value], index: int) -> str:
    return to_string(args[index])


def _int(args: Sequence[Value], index: int) -> int:
    return to_int(args[index])


def _left(args: Sequence[Value]) -> Value:
    text, count = _str(args, 0), _int(args, 1)
    if count < 0:
        raise FunctionFailed(ErrorKind.FUNCTION_EVALUATION, f"LEFT length {count} < 0", text)
    return text[:count]


def _right(args: Sequence[Value]) -> Value:
    text, count = _str(args, 0), _int(args, 1)
    if count < 0:
        raise FunctionFailed(ErrorKind.FUNCTION_EVALUATION, f"RIGHT length {count} < 0", text)
    return text[len(text) - count :] if count < len(text) else text


def _substring_start(text: str, position: int) -> int:
    if position > len(text) or position < -len(text):
        raise FunctionFailed(
            ErrorKind.FUNCTION_EVALUATION,
            f"SUBSTRING position {position} is out of range for a string of {len(text)}",
            "",
        )
    return position - 1 if position > 0 else len(text) + position


def _substring(args: Sequence[Value]) -> Value:
    text, position = _str(args, 0), _int(args, 1)
    start = _substring_start(text, position)
    if len(args) == 2:
        return text[start:] if position != 0 else ""
    length = _int(args, 2)
    if length < 0:
        raise FunctionFailed(ErrorKind.FUNCTION_EVALUATION, f"SUBSTRING length {length} < 0", "")
    return text[start : start + length] if position != 0 else ""


def _abs(args: Sequence[Value]) -> Value:
    number = _int(args, 0)
    if number == INT32_MIN:
        raise FunctionFailed(ErrorKind.MATH, "ABS(-2147483648) overflows", INT32_MAX)
    return abs(number)


def _can(cast: Callable[[Value], Value]) -> Callable[[Sequence[Value]], Value]:
    def check(args: Sequence[Value]) -> Value:
        try:
            cast(args[0])
        except CastFailed:
            return False
        return True

    return check


_S, _I, _B = ValueType.STRING, ValueType.INTEGER, ValueType.BOOLEAN

_DEFINITIONS = (
    Function("LENGTH", (_S,), _I, lambda a: len(_str(a, 0))),
    Function("CONCAT", (), _S, lambda a: "".join(map(to_string, a)), _S, is_variadic=True),
    Function(
        "CONCAT_WS",
        (_S,),
        _S,
        lambda a: _str(a, 0).join(map(to_string, a[1:])),
        _S,
        is_variadic=True,
    ),
    Function("LOWER", (_S,), _S, lambda a: _str(a, 0).lower()),
    Function("UPPER", (_S,), _S, lambda a: _str(a, 0).upper()),
    Function("TRIM", (_S,), _S, lambda a: _str(a, 0).strip(_WHITESPACE)),
    Function("LEFT", (_S, _I), _S, _left),
    Function("RIGHT", (_S, _I), _S, _right),
    Function("SUBSTRING", (_S, _I), _S, _substring),
    Function("SUBSTRING", (_S, _I, _I), _S, _substring),
    Function("ABS", (_I,), _I, _abs),
    Function("INT", (None,), _I, lambda a: to_int(a[0])),
    Function("BOOL", (None,), _B, lambda a: to_bool_explicit(a[0])),
    Function("STRING", (None,), _S, lambda a: to_string(a[0])),
    Function("IS_BOOL", (None,), _B, _can(to_bool)),
    Function("IS_INT", (None,), _B, _can(to_int)),
)

#: the built-in overloads, by upper-case name
BUILTINS: dict[str, tuple[Function, ...]] = {}
for _definition in _DEFINITIONS:
    BUILTINS[_definition.name] = (*BUILTINS.get(_definition.name, ()), _definition)


def resolve(name: str, count: int) -> Function | None:
    """The overload of ``name`` (any case) that takes ``count`` arguments, if any."""
    overloads = BUILTINS.get(name.upper(), ())
    for function in overloads:
        if not function.is_variadic and function.accepts(count):
            return function
    for function in overloads:
        if function.accepts(count):
            return function
    return None
