"""Reading CloudEvents attributes for evaluation: CESQL and the filter dialects.

An event reaches a filter or an expression either as a ``cloudevents.core`` event
(``BaseCloudEvent``: we use its ``get_attributes()``, never copy or change it) or as a
plain ``Mapping`` of attribute name to value. A ``None`` value counts as absent.

Attribute values that are not CESQL primitives (``datetime`` for ``time``, bytes,
integers outside 32 bits, anything else) are seen as their canonical CloudEvents string
(:func:`broker_bridge.event.canonical_string`: ``true``/``false``, RFC 3339 with ``Z``
for UTC, base64). Called by ``cesql.expression`` and ``broker_bridge.filters``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from broker_bridge.cesql.values import INT32_MAX, INT32_MIN, Value
from broker_bridge.event import canonical_string

__all__ = ["attributes_of", "canonical_string", "to_value"]


def attributes_of(event: Any) -> Mapping[str, Any]:
    """The attribute mapping of a CloudEvent or of a ``Mapping`` of attributes."""
    if type(event) is dict or isinstance(event, Mapping):
        return event
    get_attributes = getattr(event, "get_attributes", None)
    if get_attributes is None:
        raise TypeError(
            f"expected a CloudEvent or a Mapping of attributes, got {type(event).__name__}"
        )
    attributes: Mapping[str, Any] = get_attributes()
    return attributes


def to_value(raw: Any) -> Value:
    """An attribute value as a CESQL value (Boolean, Integer or String)."""
    kind = type(raw)
    if kind is str or kind is bool:
        return raw  # type: ignore[no-any-return]
    if kind is int and INT32_MIN <= raw <= INT32_MAX:
        return raw  # type: ignore[no-any-return]
    return canonical_string(raw)
