"""CloudEvents SQL (CESQL v1.0.0): parse an expression once, evaluate it per event.

::

    from broker_bridge import cesql

    expr = cesql.parse("source LIKE 'https://%'")   # raises cesql.ParseError
    res = expr.evaluate(event)                       # CloudEvent or Mapping of attributes
    res.value                                        # bool | int | str
    res.errors                                       # [EvaluationError(kind=..., message=...)]
    expr.matches(event)                              # filter reading: true and no error

A hand-written implementation (tokenizer, precedence-climbing parser, a tree of small
node objects) that passes the official CESQL TCK. Evaluation is fail fast: it stops at
the first error, which is reported with the value the spec and the TCK give. Used by the
``sql`` filter dialect of :mod:`broker_bridge.filters`, and public.
"""

from __future__ import annotations

from broker_bridge.cesql.errors import CesqlError, ErrorKind, EvaluationError, ParseError
from broker_bridge.cesql.expression import Expression, Result, parse
from broker_bridge.cesql.values import Value, ValueType

__all__ = [
    "CesqlError",
    "ErrorKind",
    "EvaluationError",
    "Expression",
    "ParseError",
    "Result",
    "Value",
    "ValueType",
    "parse",
]
