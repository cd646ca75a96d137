"""The CloudEvents RabbitMQ binding (AMQP 0-9-1 through kombu / py-amqp).

Called by the publisher (``to_amqp``), the bridge and the workers (``from_amqp``
with a kombu message's ``body``, ``headers`` and ``content_type``). Symmetric pairs
over the frozen :class:`AmqpMessage`: ``to_binary``/``from_binary`` and
``to_structured``/``from_structured``; ``from_amqp`` picks the mode by content type
(``application/cloudevents+json``: structured; any other ``application/cloudevents``
format: :class:`~broker_bridge.invalid.UnsupportedFormatError`; else binary).

Binary mode follows the RabbitMQ binding: each attribute is an application header
``ce-<name>``, ``datacontenttype`` is the ``content_type`` property, the data is the
body. Header values are written in AMQP's own types (Booleans as ``t``, Integers as
``I``; the AMQP format spec maps the CloudEvents types that way), so extension types
survive; ``time`` is written as RFC 3339 text (AMQP timestamps are whole seconds).

Gaps of the SDK's ``cloudevents.core.bindings.rabbitmq`` closed here:

* Header values are normalised from what py-amqp and kombu deliver: ``bytes``
  (long strings that were not UTF-8 and byte arrays) are decoded as strict UTF-8;
  ``datetime`` (AMQP timestamps, naive, UTC) becomes an aware datetime for ``time``
  and RFC 3339 text for any other attribute; ``None`` (void) is unset; Booleans and
  integers stay as they are; floats, decimals, tables and arrays are refused.
  Header names may arrive as bytes and in any case.
* kombu cannot publish without a content type: a bytes body gets
  ``application/data``. Binary mode reads that value as "no datacontenttype", so an
  event without one does not gain one on its way through kombu.
* Booleans and integers are never written as Python's ``True``/``1`` strings; a
  binary message without ``ce-specversion`` is refused; nothing is filled in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from cloudevents.core.base import BaseCloudEvent

from broker_bridge.bindings._binary import read_binary, write_body
from broker_bridge.event import StrictCloudEvent, check_event, format_time
from broker_bridge.formats import json
from broker_bridge.formats._media import parse_media_type
from broker_bridge.invalid import InvalidEventError, UnsupportedFormatError

__all__ = [
    "KOMBU_RAW_CONTENT_TYPE",
    "STRUCTURED_CONTENT_TYPE",
    "AmqpMessage",
    "from_amqp",
    "from_binary",
    "from_structured",
    "to_amqp",
    "to_binary",
    "to_structured",
]

STRUCTURED_CONTENT_TYPE = json.CONTENT_TYPE
#: kombu labels a bytes body published without a content type so; read as "none".
KOMBU_RAW_CONTENT_TYPE = "application/data"
_PREFIX = "ce-"


@dataclass(frozen=True, slots=True)
class AmqpMessage:
    """What eventfn puts in (or reads from) one AMQP message: application headers,
    the ``content_type`` property and the body."""

    headers: Mapping[str, Any] = field(default_factory=dict)
    content_type: str | None = None
    body: bytes = b""


def to_binary(event: BaseCloudEvent) -> AmqpMessage:
    """Binary mode: ``ce-`` headers in AMQP types, content_type, data as the body."""
    strict = check_event(event)
    headers: dict[str, Any] = {}
    content_type: str | None = None
    for name, value in strict.get_attributes().items():
        if name == "datacontenttype":
            content_type = value
        elif name == "time":
            headers["ce-time"] = format_time(value)
        else:
            headers[_PREFIX + name] = value
    return AmqpMessage(headers=headers, content_type=content_type, body=write_body(strict))


def from_binary(message: AmqpMessage) -> StrictCloudEvent:
    """Read a binary-mode message; raise InvalidEventError with every problem."""
    problems: dict[str, list[str]] = {}
    raw: dict[str, Any] = {}
    for key, value in message.headers.items():
        name = (key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)).lower()
        if not name.startswith(_PREFIX):
            continue
        attribute = name[3:]
        if attribute in raw:
            problems.setdefault(attribute or "$", []).append(f"header {name} is repeated")
        try:
            raw[attribute] = _normalise(attribute, value)
        except ValueError as exc:
            problems.setdefault(attribute or "$", []).append(f"header {name}: {exc}")
    content_type = _content_type(message.content_type)
    if content_type == KOMBU_RAW_CONTENT_TYPE:
        content_type = None
    return read_binary(raw, content_type, bytes(message.body), problems, "content_type")


def to_structured(event: BaseCloudEvent) -> AmqpMessage:
    """Structured mode: the event in the JSON format as the body."""
    return AmqpMessage(headers={}, content_type=STRUCTURED_CONTENT_TYPE, body=json.to_json(event))


def from_structured(message: AmqpMessage) -> StrictCloudEvent:
    """Read a structured-mode message (JSON format); headers are ignored."""
    content_type = _content_type(message.content_type)
    if content_type is not None:
        _check_format(content_type)
    return json.from_json(bytes(message.body))


def to_amqp(event: BaseCloudEvent, mode: Literal["binary", "structured"] = "binary") -> AmqpMessage:
    """Write ``event`` in the given content mode."""
    if mode == "binary":
        return to_binary(event)
    if mode == "structured":
        return to_structured(event)
    raise ValueError(f"unknown content mode {mode!r}: binary or structured")


def from_amqp(
    body: bytes, headers: Mapping[str, Any] | None, content_type: str | None
) -> StrictCloudEvent:
    """Read an event from a received message, in the mode its content type says."""
    message = AmqpMessage(headers=headers or {}, content_type=content_type, body=body)
    normalised = _content_type(content_type)
    if normalised is not None and normalised.lower().lstrip(" \t").startswith(
        "application/cloudevents"
    ):
        return from_structured(message)
    return from_binary(message)


def _check_format(content_type: str) -> None:
    try:
        media = parse_media_type(content_type)
    except ValueError as exc:
        raise UnsupportedFormatError(content_type, str(exc)) from None
    if media.essence != STRUCTURED_CONTENT_TYPE:
        raise UnsupportedFormatError(
            content_type,
            f"event format {media.essence} is not supported on AMQP: eventfn reads"
            f" {STRUCTURED_CONTENT_TYPE} (the RabbitMQ binding has no batch mode)",
        )
    if media.charset_given and media.charset != "utf-8":
        raise UnsupportedFormatError(content_type, "JSON event formats are UTF-8 only")


def _content_type(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidEventError.single(
                "datacontenttype", "content_type property is not UTF-8"
            ) from None
    return str(value)


def _normalise(attribute: str, value: Any) -> Any:
    """One header value as a CloudEvents attribute value (see the module docstring)."""
    if value is None or type(value) is str or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bytes | bytearray | memoryview):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"bytes are not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware if attribute == "time" else format_time(aware)
    raise ValueError(
        f"an AMQP {type(value).__name__} cannot carry a CloudEvents attribute"
        " (Boolean, Integer, String or timestamp expected)"
    )
