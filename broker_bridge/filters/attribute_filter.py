"""The shared base of the attribute dialects ``exact``, ``prefix`` and ``suffix``.

Each takes a non-empty map of attribute name to string; every entry must hold (a
conjunction, as in the Subscriptions API). An absent attribute never matches, and a
non-string attribute value is compared through its canonical CloudEvents string
(``true``/``false``, decimal integers, RFC 3339 timestamps with ``Z`` for UTC). Used by
``exact_filter``, ``prefix_filter`` and ``suffix_filter``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from broker_bridge.cesql.attributes import canonical_string
from broker_bridge.filters.base import Filter
from broker_bridge.filters.errors import InvalidFilterError

__all__ = ["AttributeFilter"]

_ATTRIBUTE_NAME = re.compile(r"[a-z0-9]+")


class AttributeFilter(Filter):
    """Compare attribute values with per-attribute strings; subclasses say how."""

    __slots__ = ("items",)

    #: the dialect's key in a spec (``exact``, ``prefix``, ``suffix``)
    dialect: ClassVar[str] = ""

    def __init__(self, attributes: Any, path: str | None = None) -> None:
        where = path or self.dialect
        if not isinstance(attributes, Mapping):
            raise InvalidFilterError(
                where,
                attributes,
                f"{self.dialect} takes a map of attribute name to value, "
                f"not {type(attributes).__name__}",
            )
        if not attributes:
            raise InvalidFilterError(
                where, attributes, f"{self.dialect} needs at least one attribute"
            )
        for name, value in attributes.items():
            if not isinstance(name, str) or not _ATTRIBUTE_NAME.fullmatch(name):
                raise InvalidFilterError(
                    where,
                    attributes,
                    f"{name!r} is not a CloudEvents attribute name (lowercase letters and digits)",
                )
            if not isinstance(value, str):
                raise InvalidFilterError(
                    f"{where}.{name}",
                    value,
                    f"the value must be a string, not {type(value).__name__} "
                    f"(quote it in YAML: '{canonical_string(value)}')",
                )
            if not value:
                raise InvalidFilterError(
                    f"{where}.{name}", value, f"an empty {self.dialect} value is not allowed"
                )
        self.items: tuple[tuple[str, str], ...] = tuple(attributes.items())

    @property
    def attributes(self) -> dict[str, str]:
        """The attribute -> value map this filter checks."""
        return dict(self.items)

    @property
    def spec(self) -> Any:
        return {self.dialect: self.attributes}

    def match_attributes(self, attributes: Mapping[str, Any]) -> bool:
        test = self.test
        for name, expected in self.items:
            value = attributes.get(name)
            if value is None:
                return False
            if type(value) is not str:
                value = canonical_string(value)
            if not test(value, expected):
                return False
        return True

    @staticmethod
    def test(value: str, expected: str) -> bool:
        """Whether one attribute's string value satisfies the expected string."""
        raise NotImplementedError
