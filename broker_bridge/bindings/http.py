"""The CloudEvents HTTP protocol binding: binary, structured and batch content modes.

Called by the HTTP ingress (``from_http_events`` on ``POST /``) and by anything that
sends events over HTTP. Symmetric pairs over the SDK's frozen ``HTTPMessage``
(``headers: dict[str, str]``, ``body: bytes``): ``to_binary``/``from_binary``,
``to_structured``/``from_structured``, ``to_batch``/``from_batch``. The readers take
any header map (a ``Mapping`` or a list of pairs, names in any case, values as
``str`` or ``bytes``); a repeated ``ce-`` or ``Content-Type`` header is refused.

Gaps of the SDK's ``cloudevents.core.bindings.http`` closed here:

* The mode is chosen by ``Content-Type`` as the spec says (``application/cloudevents``
  prefix: structured; ``application/cloudevents-batch+json``: batch; anything else,
  or none: binary), not by "is there any ``ce-`` header".
* Binary mode writes canonical strings (``true``, not ``True``; RFC 3339 time) and
  decodes header values strictly (see ``bindings._percent``); a binary message
  without ``ce-specversion`` is refused, not taken as 1.0.
* A structured or batch message in another event format (``+xml``, ``+avro``,
  ``+protobuf``) or a charset other than UTF-8 raises
  :class:`~broker_bridge.invalid.UnsupportedFormatError` (HTTP 415).
* Types of extension values do not survive binary mode (headers are text): an
  Integer or Boolean extension arrives as its canonical string, as the spec says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.http import HTTPMessage

from broker_bridge.bindings._binary import read_binary, write_body
from broker_bridge.bindings._percent import percent_decode, percent_encode
from broker_bridge.event import StrictCloudEvent, canonical_string, check_event
from broker_bridge.formats import batch, json
from broker_bridge.formats._media import parse_media_type
from broker_bridge.invalid import InvalidEventError, UnsupportedFormatError

__all__ = [
    "BATCH_CONTENT_TYPE",
    "STRUCTURED_CONTENT_TYPE",
    "HTTPMessage",
    "Headers",
    "content_mode",
    "from_batch",
    "from_binary",
    "from_http",
    "from_http_events",
    "from_structured",
    "to_batch",
    "to_binary",
    "to_structured",
]

STRUCTURED_CONTENT_TYPE = json.CONTENT_TYPE
BATCH_CONTENT_TYPE = batch.CONTENT_TYPE
Headers = Mapping[str, str] | Mapping[str, str | bytes] | Iterable[tuple[str | bytes, str | bytes]]
Mode = Literal["binary", "structured", "batch"]
_CONTENT_TYPE = "content-type"


def to_binary(event: BaseCloudEvent) -> HTTPMessage:
    """Binary mode: ``ce-`` headers, ``Content-Type`` from datacontenttype, data as body."""
    strict = check_event(event)
    headers: dict[str, str] = {}
    for name, value in strict.get_attributes().items():
        if name == "datacontenttype":
            headers[_CONTENT_TYPE] = value
        else:
            headers["ce-" + name] = percent_encode(canonical_string(value))
    return HTTPMessage(headers=headers, body=write_body(strict))


def from_binary(message: HTTPMessage) -> StrictCloudEvent:
    """Read a binary-mode message; raise InvalidEventError with every problem."""
    return _read_binary(message.headers, message.body)


def to_structured(event: BaseCloudEvent) -> HTTPMessage:
    """Structured mode: the event in the JSON format as the body."""
    return HTTPMessage(headers={_CONTENT_TYPE: STRUCTURED_CONTENT_TYPE}, body=json.to_json(event))


def from_structured(message: HTTPMessage) -> StrictCloudEvent:
    """Read a structured-mode message (JSON format); ``ce-`` headers are ignored."""
    content_type = _scan(message.headers)[1]
    if content_type is not None:
        _check_format(content_type, "structured")
    return json.from_json(message.body)


def to_batch(events: Iterable[BaseCloudEvent]) -> HTTPMessage:
    """Batch mode: a JSON array of events as the body."""
    return HTTPMessage(headers={_CONTENT_TYPE: BATCH_CONTENT_TYPE}, body=batch.to_batch(events))


def from_batch(message: HTTPMessage) -> list[StrictCloudEvent]:
    """Read a batch-mode message; the whole batch is refused if any event is invalid."""
    content_type = _scan(message.headers)[1]
    if content_type is not None:
        _check_format(content_type, "batch")
    return batch.from_batch(message.body)


def content_mode(headers: Headers) -> Mode:
    """The content mode a request is in, by its Content-Type (binary when absent)."""
    return _mode(_scan(headers)[1])


def from_http(headers: Headers, body: bytes) -> StrictCloudEvent:
    """Read one event in binary or structured mode, chosen by Content-Type.

    A batch is refused here (use :func:`from_http_events`).
    """
    ce_headers, content_type, problems = _scan(headers)
    mode = _mode(content_type)
    if mode == "batch":
        raise InvalidEventError.single("$", "a batch was sent where one event was expected")
    if mode == "structured":
        assert content_type is not None
        _check_format(content_type, mode)
        return json.from_json(body)
    return _binary_from_scan(ce_headers, content_type, problems, body)


def from_http_events(headers: Headers, body: bytes) -> list[StrictCloudEvent]:
    """Read a request in any mode: a list of one event, or the events of a batch."""
    content_type = _scan(headers)[1]
    if _mode(content_type) == "batch":
        assert content_type is not None
        _check_format(content_type, "batch")
        return batch.from_batch(body)
    return [from_http(headers, body)]


def _mode(content_type: str | None) -> Mode:
    if content_type is None:
        return "binary"
    lowered = content_type.lower()
    if not lowered.lstrip(" \t").startswith("application/cloudevents"):
        return "binary"
    essence = lowered.split(";", 1)[0].strip(" \t")
    return "batch" if essence == BATCH_CONTENT_TYPE else "structured"


def _check_format(content_type: str, mode: Mode) -> None:
    expected = BATCH_CONTENT_TYPE if mode == "batch" else STRUCTURED_CONTENT_TYPE
    try:
        media = parse_media_type(content_type)
    except ValueError as exc:
        raise UnsupportedFormatError(content_type, str(exc)) from None
    if media.essence != expected:
        raise UnsupportedFormatError(
            content_type, f"event format {media.essence} is not supported: eventfn reads {expected}"
        )
    if media.charset_given and media.charset != "utf-8":
        raise UnsupportedFormatError(content_type, "JSON event formats are UTF-8 only")


def _read_binary(headers: Headers, body: bytes) -> StrictCloudEvent:
    ce_headers, content_type, problems = _scan(headers)
    return _binary_from_scan(ce_headers, content_type, problems, body)


def _binary_from_scan(
    ce_headers: list[tuple[str, str | bytes]],
    content_type: str | None,
    problems: dict[str, list[str]],
    body: bytes,
) -> StrictCloudEvent:
    raw: dict[str, Any] = {}
    for name, value in ce_headers:
        try:
            raw[name] = percent_decode(value)
        except ValueError as exc:
            problems.setdefault(name or "$", []).append(f"header ce-{name}: {exc}")
    return read_binary(raw, content_type, body, problems, "Content-Type")


def _scan(
    headers: Headers,
) -> tuple[list[tuple[str, str | bytes]], str | None, dict[str, list[str]]]:
    """One pass over the headers: ``ce-`` ones, the Content-Type, duplicate problems."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    ce_headers: list[tuple[str, str | bytes]] = []
    seen: set[str] = set()
    content_type: str | None = None
    problems: dict[str, list[str]] = {}
    for key, value in pairs:
        name = (key.decode("latin-1") if isinstance(key, bytes) else key).lower()
        if name.startswith("ce-"):
            attribute = name[3:]
            if attribute in seen:
                problems.setdefault(attribute or "$", []).append(f"header {name} is repeated")
            seen.add(attribute)
            ce_headers.append((attribute, value))
        elif name == _CONTENT_TYPE:
            if content_type is not None:
                problems.setdefault("datacontenttype", []).append("Content-Type is repeated")
            text = value.decode("latin-1") if isinstance(value, bytes) else value
            content_type = text.strip(" \t")
    return ce_headers, content_type, problems
