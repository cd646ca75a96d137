"""The event model of eventfn: strict CloudEvents 1.0 over the SDK's ``CloudEvent``.

Every reader (``formats.json``, ``formats.batch``, ``bindings.http``,
``bindings.amqp``) builds its events here, every writer checks its input here, and
applications create events with :func:`new_event`. Events are instances of
:class:`StrictCloudEvent`, a subclass of ``cloudevents.core.v1.event.CloudEvent``, so
handlers, filters and CESQL see the SDK's type and getters.

Gaps of SDK 2.2.0 closed here:

* The SDK's constructor fills in ``time`` (now) and ``id`` (uuid4) and defaults
  ``specversion`` to 1.0 for every event, received ones included. A received event
  here carries exactly the attributes it arrived with; only :func:`new_event` (an
  event being *created*) fills ``id`` and ``specversion``, never ``time``.
* Attribute values are checked against the spec's type system, which the SDK does
  not do: String (no control characters U+0000-U+001F and U+007F-U+009F, no
  noncharacters, no lone surrogates), URI-reference (``source``), absolute URI
  (``dataschema``), RFC 2046 media type (``datacontenttype``), RFC 3339 timestamp
  (``time``; ISO 8601 forms that are not RFC 3339 are refused), and for extensions
  Boolean, Integer (signed 32-bit) or String only (no dicts, lists, floats, null);
  extension names ``[a-z0-9]+`` and not ``data``.
* A ``None`` value (JSON ``null``, an AMQP void header) means "unset".
* Every problem is collected into one :class:`~broker_bridge.invalid.InvalidEventError`.

Representation decisions (documented in ARCHITECTURE.md):

* ``data: null`` is not "no data". ``get_data()`` returns ``None`` for both (what
  every SDK consumer expects); ``StrictCloudEvent.has_data`` (and :func:`has_data`)
  tells them apart, and writers keep the difference on every transport. Create an
  event whose data is JSON null with ``new_event(attrs, JSON_NULL)``.
* Spec version 0.3 events are converted to 1.0 on receive (``schemaurl`` becomes
  ``dataschema``; ``datacontentencoding: base64`` is decoded into bytes data);
  writers only ever write 1.0.
* Extension values are ``bool``, ``int`` or ``str``; a Binary (``bytes``) or
  Timestamp (``datetime``) extension given to :func:`new_event` is stored as its
  canonical string, which is what every receiver of it will see anyway.
* ``time`` is an aware ``datetime`` (microsecond precision: finer digits are cut).
"""

from __future__ import annotations

import base64
import binascii
import math
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.v1.event import CloudEvent

from broker_bridge.formats._attributes import SPECVERSION, format_time, validate_attributes
from broker_bridge.invalid import InvalidEventError

__all__ = [
    "JSON_NULL",
    "SPECVERSION",
    "StrictCloudEvent",
    "canonical_string",
    "check_event",
    "format_time",
    "has_data",
    "new_event",
    "same_event",
    "validate_attributes",
]


class _JsonNull:
    """Marker for "the data is JSON null" when creating an event."""

    _instance: _JsonNull | None = None

    def __new__(cls) -> _JsonNull:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "JSON_NULL"


JSON_NULL: Final = _JsonNull()


def canonical_string(value: Any) -> str:
    """The spec's canonical string form of an attribute value (binary-mode headers):
    ``true``/``false``, decimal integers, RFC 3339 timestamps, base64 for bytes."""
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, bytes | bytearray | memoryview):
        value = base64.b64encode(value).decode("ascii")
    return str(value)


class StrictCloudEvent(CloudEvent):
    """A validated CloudEvent 1.0 that carries only the attributes it was given.

    ``has_data`` is true when the event has data, including data that is JSON null
    (``get_data()`` then returns ``None``). Construct with :func:`new_event`, or
    directly with complete attributes (nothing is filled in).
    """

    has_data: bool

    def __init__(self, attributes: dict[str, Any], data: Any = None) -> None:
        checked, value, present = _build(attributes, data)
        self._attributes = checked
        self._data = value
        self.has_data = present

    @classmethod
    def trusted(cls, attributes: dict[str, Any], data: Any, present: bool) -> StrictCloudEvent:
        """Wrap already validated parts without checking them (readers' fast path)."""
        event = cls.__new__(cls)
        event._attributes = attributes
        event._data = data
        event.has_data = present
        return event

    def get_data(self) -> Any:
        return self._data

    def __repr__(self) -> str:
        data = "JSON_NULL" if self.has_data and self._data is None else repr(self._data)
        return f"StrictCloudEvent({self._attributes!r}, data={data})"


def _check_data(data: Any, problems: dict[str, list[str]]) -> tuple[bool, Any]:
    if data is None:
        return False, None
    if data is JSON_NULL:
        return True, None
    if isinstance(data, bytearray | memoryview):
        return True, bytes(data)
    if isinstance(data, tuple):
        return True, list(data)  # what JSON gives back
    if isinstance(data, float) and not math.isfinite(data):
        problems.setdefault("data", []).append("NaN and infinities are not JSON numbers")
    elif not isinstance(data, str | bytes | int | float | dict | list | tuple):
        problems.setdefault("data", []).append(
            f"must be JSON-shaped, text or bytes, got {type(data).__name__}"
        )
    return True, data


def has_data(event: BaseCloudEvent) -> bool:
    """Whether ``event`` has data (JSON null counts as data on a StrictCloudEvent)."""
    present = getattr(event, "has_data", None)
    return present if isinstance(present, bool) else event.get_data() is not None


def check_event(event: BaseCloudEvent) -> StrictCloudEvent:
    """Return ``event`` as a StrictCloudEvent, validating any other CloudEvent
    (for example one built with the SDK's constructor); raise InvalidEventError."""
    if isinstance(event, StrictCloudEvent):
        return event
    return StrictCloudEvent.trusted(*_build(event.get_attributes(), event.get_data()))


def _build(attributes: Mapping[str, Any], data: Any) -> tuple[dict[str, Any], Any, bool]:
    problems: dict[str, list[str]] = {}
    checked, data_is_base64 = validate_attributes(attributes, problems)
    present, value = _check_data(data, problems)
    if data_is_base64 and isinstance(value, str):
        try:
            value = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            problems.setdefault("data", []).append(
                f"datacontentencoding is base64 but data is not: {exc}"
            )
    if problems:
        raise InvalidEventError(problems)
    return checked, value, present


def new_event(attributes: Mapping[str, Any], data: Any = None) -> StrictCloudEvent:
    """Create an event: fill ``specversion`` (1.0) and ``id`` (a uuid4) when absent.

    ``data``: ``None`` for no data, ``JSON_NULL`` for JSON null, else a JSON value,
    ``str`` (text) or ``bytes`` (binary). Nothing else is filled in (not ``time``).
    """
    filled = dict(attributes)
    if filled.get("specversion") is None:
        filled["specversion"] = SPECVERSION
    if filled.get("id") is None:
        filled["id"] = str(uuid.uuid4())
    return StrictCloudEvent(filled, data)


def same_event(left: BaseCloudEvent, right: BaseCloudEvent) -> bool:
    """Whether two events have equal attributes (types included) and equal data."""
    a, b = left.get_attributes(), right.get_attributes()
    if {k for k, v in a.items() if v is not None} != {k for k, v in b.items() if v is not None}:
        return False
    for key, value in a.items():
        if value is None:
            continue
        other = b[key]
        if type(value) is not type(other) or value != other:
            return False
        if isinstance(value, datetime) and value.isoformat() != other.isoformat():
            return False
    return has_data(left) == has_data(right) and _same_data(left.get_data(), right.get_data())


def _same_data(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_data(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same_data(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
