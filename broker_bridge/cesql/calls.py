"""The function-call node of CESQL expression trees.

The parser resolves the function once (``cesql.functions.resolve``); an unknown name
or arity is kept as a call to nothing, which evaluates to ``false`` with a
``missingFunction`` error (spec v1, section 3.5, and the TCK's ``CONCAT_WS()``).
Compile-time users (the ``sql`` filter dialect) refuse such expressions instead, through
``Expression.missing_functions``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from broker_bridge.cesql.errors import ErrorKind
from broker_bridge.cesql.functions import Function, FunctionFailed, caster
from broker_bridge.cesql.nodes import Node, abort
from broker_bridge.cesql.values import CastFailed, Value

__all__ = ["Call"]


class Call(Node):
    """``NAME(arg, ...)``: arguments evaluated left to right, cast, then the function."""

    __slots__ = ("args", "casters", "function", "name", "result_type")

    def __init__(self, name: str, args: tuple[Node, ...], function: Function | None) -> None:
        self.name = name.upper()
        self.args = args
        self.function = function
        self.result_type = function.result_type if function is not None else None
        self.casters: tuple[Callable[[Value], Value] | None, ...] = (
            tuple(caster(function.param_type(i)) for i in range(len(args)))
            if function is not None
            else ()
        )

    def eval(self, attributes: Mapping[str, Any]) -> Value:
        function = self.function
        if function is None:
            abort(
                self,
                ErrorKind.MISSING_FUNCTION,
                f"no function {self.name} taking {len(self.args)} argument(s)",
                False,
            )
        values = [arg.eval(attributes) for arg in self.args]
        try:
            for index, cast in enumerate(self.casters):
                if cast is not None:
                    values[index] = cast(values[index])
            return function.impl(values)
        except CastFailed as exc:
            abort(self, ErrorKind.CAST, f"{self.name}: {exc}", self.zero)
        except FunctionFailed as failure:
            abort(self, failure.kind, f"{self.name}: {failure.message}", failure.value)

    def children(self) -> tuple[Node, ...]:
        return self.args

    def to_text(self) -> str:
        return f"{self.name}({', '.join(arg.to_text() for arg in self.args)})"
