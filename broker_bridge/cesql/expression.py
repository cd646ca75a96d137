"""A parsed CESQL expression and the result of evaluating it on one event.

:func:`parse` compiles the text once (callers keep the :class:`Expression`); then
``evaluate(event)`` returns a :class:`Result` with the value and the errors, as the spec's
"complete evaluation" contract asks, and ``matches(event)`` is the filter reading (spec
1.2): true only for a Boolean ``true`` reached without any error. ``event`` is a
``cloudevents.core`` CloudEvent or a ``Mapping`` of attributes. Used by the ``sql``
filter dialect (``broker_bridge.filters``) and by anyone through ``broker_bridge.cesql``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from broker_bridge.cesql.attributes import attributes_of
from broker_bridge.cesql.calls import Call
from broker_bridge.cesql.errors import EvaluationAborted, EvaluationError
from broker_bridge.cesql.nodes import Node
from broker_bridge.cesql.parser import parse_tree
from broker_bridge.cesql.values import Value, ValueType

__all__ = ["Expression", "Result", "parse"]


@dataclass(frozen=True, slots=True)
class Result:
    """The value of an expression for one event, and the errors met (empty if none)."""

    value: Value
    errors: list[EvaluationError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No error occurred."""
        return not self.errors


def _missing_functions(root: Node) -> tuple[str, ...]:
    found: list[str] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, Call) and node.function is None:
            found.append(f"{node.name}/{len(node.args)}")
        stack.extend(node.children())
    return tuple(sorted(set(found)))


class Expression:
    """A compiled CESQL expression: immutable, thread-safe, evaluated many times."""

    __slots__ = ("missing_functions", "root", "text")

    def __init__(self, text: str, root: Node) -> None:
        self.text = text
        self.root = root
        #: calls that resolve to no function, as ``NAME/arity`` (they evaluate to an error)
        self.missing_functions = _missing_functions(root)

    @property
    def result_type(self) -> ValueType | None:
        """The static type of the value, or ``None`` when it depends on the event."""
        return self.root.result_type

    def evaluate(self, event: Any) -> Result:
        """The value and errors of this expression for ``event``."""
        return self.evaluate_attributes(attributes_of(event))

    def evaluate_attributes(self, attributes: Mapping[str, Any]) -> Result:
        """As :meth:`evaluate`, for an attribute mapping."""
        root = self.root
        try:
            return Result(root.eval(attributes))
        except EvaluationAborted as aborted:
            value = aborted.value if aborted.node is root else root.zero
            return Result(value, [aborted.error])

    def matches(self, event: Any) -> bool:
        """Filter reading: the value is Boolean ``true`` and no error occurred."""
        return self.matches_attributes(attributes_of(event))

    def matches_attributes(self, attributes: Mapping[str, Any]) -> bool:
        """As :meth:`matches`, for an attribute mapping (the routing hot path)."""
        try:
            return self.root.eval(attributes) is True
        except EvaluationAborted:
            return False

    def __repr__(self) -> str:
        return f"cesql.parse({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def parse(text: str) -> Expression:
    """Compile CESQL v1 ``text``; raises :class:`~broker_bridge.cesql.ParseError`."""
    if not isinstance(text, str):
        raise TypeError(f"a CESQL expression is a str, not {type(text).__name__}")
    return Expression(text, parse_tree(text))
