"""The CloudEvents JSON format (``application/cloudevents+json``), strict.

Called by the publisher and the bridge (``to_json``/``from_json``), by the structured
modes of :mod:`broker_bridge.bindings.http` and ``.amqp``, and by the batch format.
Replaces the SDK's ``JSONFormat`` read/write; gaps closed (besides those of
:mod:`broker_bridge.event` and :mod:`broker_bridge.formats._data`):

* ``null`` members are unset attributes, not ``None`` values or errors.
* ``data`` and ``data_base64`` are mutually exclusive; ``data_base64`` must be a
  string of valid standard base64 (RFC 4648, padded); ``data: null`` is kept as
  JSON-null data, distinct from an event without data.
* Non-JSON data (a dict with ``text/plain``) is written as the JSON value, never as
  Python's ``str()`` of it; time is written in RFC 3339 with ``Z`` for UTC.
* Nothing is added on read (no ``time``, no ``id``; ``specversion`` is required).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cloudevents.core.base import BaseCloudEvent

from broker_bridge.event import StrictCloudEvent, check_event, format_time, validate_attributes
from broker_bridge.formats._data import dumps, loads
from broker_bridge.formats._media import parse_media_type
from broker_bridge.invalid import InvalidEventError

__all__ = ["CONTENT_TYPE", "event_from_dict", "event_to_dict", "from_json", "to_json"]

CONTENT_TYPE = "application/cloudevents+json"
_ABSENT: Any = object()


def event_to_dict(event: BaseCloudEvent) -> dict[str, Any]:
    """The JSON object of one event (attributes and data members), ready to dump."""
    strict = check_event(event)
    out = dict(strict.get_attributes())
    time = out.get("time")
    if time is not None:
        out["time"] = format_time(time)
    if strict.has_data:
        data = strict.get_data()
        if type(data) is bytes:
            out["data_base64"] = base64.b64encode(data).decode("ascii")
        else:
            out["data"] = data
    return out


def to_json(event: BaseCloudEvent) -> bytes:
    """Serialize one event in structured JSON; raise InvalidEventError if it cannot be."""
    try:
        return dumps(event_to_dict(event)).encode("ascii")
    except ValueError as exc:
        if isinstance(exc, InvalidEventError):
            raise
        raise InvalidEventError.single("data", str(exc)) from None


def from_json(body: bytes | str) -> StrictCloudEvent:
    """Parse one structured JSON event; raise InvalidEventError with every problem."""
    try:
        value = loads(body)
    except ValueError as exc:
        raise InvalidEventError.single("$", f"not a JSON CloudEvent: {exc}") from None
    return event_from_dict(value)


def event_from_dict(value: Any) -> StrictCloudEvent:
    """Build an event from a parsed JSON object; raise InvalidEventError."""
    if type(value) is not dict:
        raise InvalidEventError.single(
            "$", f"a CloudEvent in JSON is an object, not {_json_type(value)}"
        )
    raw = dict(value)
    data = raw.pop("data", _ABSENT)
    data_base64 = raw.pop("data_base64", None)
    problems: dict[str, list[str]] = {}
    attributes, data_is_base64 = validate_attributes(raw, problems)
    present = True
    if data_base64 is not None:
        if data is not _ABSENT:
            problems.setdefault("data", []).append(
                "data and data_base64 are mutually exclusive: the event carries both"
            )
        data = _base64(data_base64, "data_base64", problems)
    elif data is _ABSENT:
        data, present = None, False
    elif data_is_base64:
        data = _base64(data, "data", problems)
    elif type(data) is str and "datacontenttype" in attributes:
        data = _text(data, attributes["datacontenttype"], problems)
    if problems:
        raise InvalidEventError(problems)
    return StrictCloudEvent.trusted(attributes, data, present)


def _base64(value: Any, member: str, problems: dict[str, list[str]]) -> bytes | None:
    if type(value) is not str:
        problems.setdefault(member, []).append(f"must be a base64 string, not {_json_type(value)}")
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        problems.setdefault(member, []).append(f"is not valid base64 (RFC 4648): {exc}")
        return None


def _text(value: str, datacontenttype: str, problems: dict[str, list[str]]) -> str:
    # A string datum of a non-JSON type is text on every transport: it must encode.
    if not value.isascii() and parse_media_type(datacontenttype).kind != "json":
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            problems.setdefault("data", []).append(
                f"text contains a lone surrogate at position {exc.start}"
            )
    return value


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")
