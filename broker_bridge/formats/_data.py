"""Strict JSON text and binary-mode bodies: the payload codec shared by every binding.

Private helper of :mod:`broker_bridge.formats.json`, :mod:`~broker_bridge.formats.batch`
and the binary modes of :mod:`broker_bridge.bindings.http` and ``.amqp``.

SDK gaps closed here:

* JSON text is parsed strictly: UTF-8 only (the stdlib also guesses UTF-16/32), no
  ``NaN``/``Infinity``, no number out of a double's range (``1e999`` would become
  ``inf``, which cannot be written back), nesting too deep for the parser is an
  invalid event rather than a ``RecursionError``; and written without NaN, compactly.
* Binary-mode bodies are typed by ``datacontenttype`` (see ``formats._media``): JSON
  data is written *as JSON* (the SDK writes a string datum as raw text, so
  ``"Hello"`` arrives as ``Hello`` and cannot be parsed back), and a JSON body that
  does not parse is refused instead of silently becoming a string. Text is decoded
  with the declared charset (UTF-8 by default); if it does not decode the body is
  kept as bytes, losslessly. Without a content type a body that parses as JSON is
  JSON (the JSON format's default), anything else bytes.
* An empty body is "no data"; JSON ``null`` data is the body ``null``.
"""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn

from broker_bridge.formats._media import parse_media_type

__all__ = ["decode_body", "dumps", "encode_body", "loads"]


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:40]} is out of the range of a double")
    return value


_DECODER = json.JSONDecoder(parse_constant=_no_constants, parse_float=_finite)
_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))


def loads(text: bytes | str) -> Any:
    """Parse strict JSON text; raise ``ValueError`` with the reason otherwise."""
    try:
        if not isinstance(text, str):
            text = bytes(text).decode("utf-8")
        return _DECODER.decode(text)
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def dumps(value: Any) -> str:
    """Serialize a JSON value (ASCII-only text); raise ``ValueError`` if it is not one."""
    try:
        return _ENCODER.encode(value)
    except (TypeError, RecursionError) as exc:
        raise ValueError(f"not JSON-serializable: {exc}") from None


def encode_body(data: Any, present: bool, datacontenttype: str | None) -> bytes:
    """The binary-mode body for ``data``; raise ``ValueError`` if it cannot be written."""
    if not present:
        return b""
    if type(data) is bytes:
        return data
    kind = "json" if datacontenttype is None else parse_media_type(datacontenttype).kind
    if kind == "json" or not isinstance(data, str):
        return dumps(data).encode("ascii")
    if kind == "text":
        charset = parse_media_type(datacontenttype).charset if datacontenttype else None
        try:
            return data.encode(charset or "utf-8")
        except UnicodeError:
            raise ValueError(f"text cannot be encoded in charset {charset}") from None
    return data.encode("utf-8")


def decode_body(body: bytes, datacontenttype: str | None) -> tuple[Any, bool]:
    """``(data, present)`` from a binary-mode body; ``ValueError`` for a bad JSON body."""
    if not body:
        return None, False
    if datacontenttype is None:
        try:
            return loads(body), True
        except ValueError:
            return bytes(body), True
    media = parse_media_type(datacontenttype)
    if media.kind == "json":
        try:
            return loads(body), True
        except ValueError as exc:
            raise ValueError(f"body is not JSON as {datacontenttype!r} says: {exc}") from None
    if media.kind == "text" and (media.charset is not None or not media.charset_given):
        try:
            return bytes(body).decode(media.charset or "utf-8"), True
        except UnicodeDecodeError:
            pass
    return bytes(body), True
