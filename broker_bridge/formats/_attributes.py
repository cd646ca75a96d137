"""The CloudEvents type system: checking attribute values as they come off the wire.

Private helper of :mod:`broker_bridge.event` (which re-exports
:func:`validate_attributes`), used by every reader through it. See that module's
docstring for the SDK gaps this closes (attribute types, String characters,
URI-references, RFC 3339, extension names and values, ``None`` as unset, 0.3).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from broker_bridge.formats._media import parse_media_type

__all__ = ["SPECVERSION", "format_time", "validate_attributes"]

SPECVERSION: Final = "1.0"
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_REQUIRED: Final = ("id", "source", "type", "specversion")
_EXTENSION_NAME = re.compile(r"[a-z0-9]+")


def _forbidden_characters() -> re.Pattern[str]:
    ranges = ["\x00-\x1f", "\x7f-\x9f", "\ud800-\udfff", "\ufdd0-\ufdef"]
    ranges += [
        chr(plane * 0x10000 + 0xFFFE) + "-" + chr(plane * 0x10000 + 0xFFFF) for plane in range(17)
    ]
    return re.compile("[" + "".join(ranges) + "]")


_FORBIDDEN = _forbidden_characters()
_URI_REFERENCE = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")
_URI_PREFIX = re.compile(r"([^:/?#]*):")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")


class _Bad(ValueError):
    """One problem with one value (internal control flow of the validators)."""


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _string(value: Any, what: str = "a String") -> str:
    if not isinstance(value, str):
        raise _Bad(f"must be {what}, got {type(value).__name__} {_short(value)}")
    text = value if type(value) is str else str.__str__(value)
    if text.isascii() and text.isprintable():  # fast path: no C0 control, no DEL
        return text
    bad = _FORBIDDEN.search(text)
    if bad is not None:
        raise _Bad(
            f"contains U+{ord(bad.group()):04X} at position {bad.start()}: control characters,"
            " noncharacters and lone surrogates are not allowed in a String"
        )
    return text


def _non_empty(value: Any, what: str = "a String") -> str:
    text = _string(value, what)
    if not text:
        raise _Bad("must not be empty")
    return text


def _uri_reference(value: Any, *, absolute: bool = False) -> str:
    text = _non_empty(value, "a URI" if absolute else "a URI-reference")
    if _URI_REFERENCE.fullmatch(text) is None:
        position, char = next(
            ((i, c) for i, c in enumerate(text) if c != "%" and not _URI_REFERENCE.fullmatch(c)),
            (-1, "%"),
        )
        if position < 0:
            raise _Bad(f"{_short(text)} has a '%' not followed by two hex digits (RFC 3986)")
        raise _Bad(
            f"{_short(text)} is not a URI (RFC 3986): {char!r} at position {position}"
            " must be percent-encoded"
        )
    prefix = _URI_PREFIX.match(text)
    if prefix is not None and _SCHEME.fullmatch(prefix.group(1)) is None:
        raise _Bad(
            f"{_short(text)} is not a URI-reference (RFC 3986): invalid scheme or ':'"
            " in the first segment"
        )
    if absolute and prefix is None:
        raise _Bad(
            f"{_short(text)} must be an absolute URI (with a scheme), not a relative reference"
        )
    return text


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        offset = value.utcoffset()
        if offset is None:
            raise _Bad("must be timezone-aware")
        if offset % timedelta(minutes=1):
            raise _Bad("a UTC offset must be whole minutes in RFC 3339")
        return value
    text = _string(value, "an RFC 3339 timestamp")
    if _RFC3339.fullmatch(text) is None:
        raise _Bad(f"{_short(text)} is not an RFC 3339 timestamp (e.g. 2018-04-05T03:56:24Z)")
    try:
        return datetime.fromisoformat(text.upper())
    except ValueError as exc:
        raise _Bad(f"{_short(text)} is not a valid RFC 3339 timestamp: {exc}") from None


def _specversion(value: Any) -> str:
    text = _string(value)
    if text not in (SPECVERSION, "0.3"):
        raise _Bad(f"{_short(text)} is not supported: eventfn reads 1.0 (and converts 0.3)")
    return text


def _media_type(value: Any) -> str:
    text = _non_empty(value)
    try:
        parse_media_type(text)
    except ValueError as exc:
        raise _Bad(str(exc)) from None
    return text


def _extension_value(value: Any) -> bool | int | str:
    if type(value) is str:
        return _string(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not _INT32_MIN <= value <= _INT32_MAX:
            raise _Bad(f"integer {_short(value)} is out of the signed 32-bit range of an Integer")
        return int(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, datetime):
        return format_time(_time(value))
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    raise _Bad(
        f"must be a Boolean, an Integer or a String, got {type(value).__name__} {_short(value)}"
    )


_CORE_CHECKS: Final[dict[str, Callable[[Any], Any]]] = {
    "id": _non_empty,
    "source": _uri_reference,
    "type": _non_empty,
    "specversion": _specversion,
    "datacontenttype": _media_type,
    "dataschema": lambda value: _uri_reference(value, absolute=True),
    "subject": _non_empty,
    "time": _time,
}


def _add(problems: dict[str, list[str]], key: str, message: str) -> None:
    problems.setdefault(key, []).append(message)


def validate_attributes(
    raw: Mapping[str, Any], problems: dict[str, list[str]]
) -> tuple[dict[str, Any], bool]:
    """Check wire attribute values; return ``(attributes, data_is_base64)``.

    ``raw`` maps names to values as a format or binding decoded them (``time`` may be
    text). ``None`` values are unset. Problems are added to ``problems``; the returned
    mapping holds the valid attributes in their model types. A 0.3 event is converted
    to 1.0, and ``data_is_base64`` is true when its ``datacontentencoding`` said base64.
    """
    attributes: dict[str, Any] = {}
    legacy = raw.get("specversion") == "0.3"
    data_is_base64 = False
    for name, value in raw.items():
        if value is None:
            continue
        check = _CORE_CHECKS.get(name)
        try:
            if check is not None:
                attributes[name] = check(value)
            elif legacy and name in ("schemaurl", "datacontentencoding"):
                data_is_base64 |= _legacy_attribute(name, value, raw, attributes)
            elif type(name) is not str or _EXTENSION_NAME.fullmatch(name) is None:
                _add(
                    problems,
                    str(name) or "$",
                    f"{_short(name)} is not a valid attribute name: lower-case ASCII letters"
                    " and digits only",
                )
            elif name == "data":
                raise _Bad("'data' is reserved and cannot be an extension attribute")
            else:
                attributes[name] = _extension_value(value)
        except _Bad as exc:
            _add(problems, "dataschema" if name == "schemaurl" else name, str(exc))
    for name in _REQUIRED:
        if name not in attributes and name not in problems:
            _add(problems, name, "required attribute is missing")
    if legacy and "specversion" in attributes:
        attributes["specversion"] = SPECVERSION
    return attributes, data_is_base64


def _legacy_attribute(
    name: str, value: Any, raw: Mapping[str, Any], attributes: dict[str, Any]
) -> bool:
    """Convert one 0.3-only attribute; return whether data is base64-encoded."""
    if name == "schemaurl":
        if raw.get("dataschema") is not None:
            raise _Bad("a 0.3 event cannot carry both schemaurl and dataschema")
        attributes["dataschema"] = _uri_reference(value, absolute=True)
        return False
    if _string(value).lower() != "base64":
        raise _Bad(f"{_short(value)} is not supported: 0.3 defines only 'base64'")
    return True


def format_time(value: datetime) -> str:
    """RFC 3339 text of an aware datetime, ``Z`` for UTC."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
