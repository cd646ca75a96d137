"""The ``sql`` dialect: ``{"sql": "subject LIKE 'order/%'"}``, a CESQL v1 expression.

The expression is parsed once, here; an expression that cannot parse, that calls a
function which does not exist, or whose value can never be a Boolean is refused at
compile time. Per event it is read fail fast (spec 1.2): the event passes only when the
value is ``true`` and no error occurred (a missing attribute is such an error).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from broker_bridge.cesql.errors import ParseError
from broker_bridge.cesql.expression import parse
from broker_bridge.cesql.values import ValueType
from broker_bridge.filters.base import Filter
from broker_bridge.filters.errors import InvalidFilterError

__all__ = ["SqlFilter"]


class SqlFilter(Filter):
    """A CESQL expression used as a predicate."""

    __slots__ = ("expression",)

    def __init__(self, expression: Any, path: str = "sql") -> None:
        if not isinstance(expression, str):
            raise InvalidFilterError(
                path,
                expression,
                f"sql takes a CESQL expression string, not {type(expression).__name__}",
            )
        if not expression.strip():
            raise InvalidFilterError(path, expression, "the CESQL expression is empty")
        try:
            parsed = parse(expression)
        except ParseError as exc:
            raise InvalidFilterError(
                path, expression, f"{exc.reason} at offset {exc.position} of {expression!r}"
            ) from exc
        if parsed.missing_functions:
            raise InvalidFilterError(
                path, expression, f"unknown function(s): {', '.join(parsed.missing_functions)}"
            )
        kind = parsed.result_type
        if kind is not None and kind is not ValueType.BOOLEAN:
            raise InvalidFilterError(
                path, expression, f"the expression is {kind.value}, a filter needs a Boolean"
            )
        self.expression = parsed

    def match_attributes(self, attributes: Mapping[str, Any]) -> bool:
        return self.expression.matches_attributes(attributes)

    @property
    def spec(self) -> Any:
        return {"sql": self.expression.text}
