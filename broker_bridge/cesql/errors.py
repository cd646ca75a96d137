"""Errors of the CESQL engine: the error kinds of the spec and the exceptions we raise.

Two different things live here:

* :class:`EvaluationError` is a *value*: an entry of ``Result.errors``. CESQL is total,
  so evaluating an expression never raises; it returns a value plus these records, each
  with a :class:`ErrorKind` (``parse``, ``math``, ``cast``, ``missingAttribute``,
  ``missingFunction``, ``functionEvaluation``, ``generic``: the spec's section 3.3).
* :class:`CesqlError` and :class:`ParseError` are *exceptions*, raised by
  :func:`broker_bridge.cesql.parse` when the text is not a valid expression::

      BridgeError
      └── CesqlError
          └── ParseError (ValueError)

:class:`EvaluationAborted` is internal: the nodes raise it to stop an evaluation at the
first error (fail fast, as the TCK expects); ``Expression.evaluate`` turns it into a
``Result``. Used by every module of ``broker_bridge.cesql``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from broker_bridge.errors import BridgeError

if TYPE_CHECKING:
    from broker_bridge.cesql.values import Value

__all__ = [
    "CesqlError",
    "ErrorKind",
    "EvaluationAborted",
    "EvaluationError",
    "ParseError",
]


class ErrorKind(StrEnum):
    """The error types every CESQL engine must support (spec v1, section 3.3)."""

    PARSE = "parse"
    MATH = "math"
    CAST = "cast"
    MISSING_ATTRIBUTE = "missingAttribute"
    MISSING_FUNCTION = "missingFunction"
    FUNCTION_EVALUATION = "functionEvaluation"
    GENERIC = "generic"


@dataclass(frozen=True, slots=True)
class EvaluationError:
    """One error met while evaluating an expression (an entry of ``Result.errors``)."""

    kind: ErrorKind
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class CesqlError(BridgeError):
    """Base of the exceptions raised by the CESQL engine."""


class ParseError(CesqlError, ValueError):
    """The text is not a valid CESQL v1 expression; names the position and the problem."""

    kind = ErrorKind.PARSE

    def __init__(self, expression: str, position: int, reason: str) -> None:
        self.expression = expression
        self.position = position
        self.reason = reason
        super().__init__(f"invalid CESQL expression {expression!r} at offset {position}: {reason}")


class EvaluationAborted(Exception):
    """Internal: stops an evaluation at its first error (never escapes the package).

    ``value`` is what the node that met the error evaluates to (for example ``LEFT('abc',
    -2)`` is ``'abc'``); every enclosing node evaluates to its zero value instead.
    """

    def __init__(self, error: EvaluationError, value: Value, node: object) -> None:
        self.error = error
        self.value = value
        self.node = node
        super().__init__(str(error))
