"""Percent-encoding of CloudEvents HTTP header values (HTTP binding, 3.1.3.2).

Private helper of :mod:`broker_bridge.bindings.http`. Closes SDK gaps: the SDK
decodes with ``urllib.parse.unquote``, which lets a stray ``%`` through, replaces
invalid UTF-8 with U+FFFD and ignores quoted strings. Here decoding is strict:
optional whitespace is trimmed, a double-quoted value is unescaped (RFC 9110
quoted-string, backslash escapes), then one round of percent-decoding where every
``%`` must be followed by two hex digits and the bytes must be valid UTF-8.

Header values handed over as ``str`` are taken to be the wire bytes decoded as
ISO-8859-1, which is what WSGI, ASGI frameworks and http.client do; a value with
characters above U+00FF is taken to have been decoded as UTF-8 instead.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote_to_bytes

__all__ = ["percent_decode", "percent_encode"]

# Printable ASCII except space, '"' and '%' stays as is; everything else is encoded.
_SAFE_CHARS = "".join(c for c in map(chr, range(0x21, 0x7F)) if c not in '"%')
_SAFE = re.compile(r"[\x21\x23\x24\x26-\x7e]*")
_BAD_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_PLAIN = re.compile(rb"[\x21\x23\x24\x26-\x7e]*")
_QUOTED = re.compile(rb'"((?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*)"')
_ESCAPE = re.compile(rb"\\(.)", re.DOTALL)


def percent_encode(value: str) -> str:
    """Percent-encode a canonical string for an HTTP header value."""
    if _SAFE.fullmatch(value) is not None:
        return value
    return quote(value, safe=_SAFE_CHARS)


def percent_decode(value: str | bytes) -> str:
    """Decode one header value; raise ``ValueError`` saying what is malformed."""
    if isinstance(value, str):
        try:
            raw = value.encode("latin-1")
        except UnicodeEncodeError:
            try:
                raw = value.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:
                raise ValueError("contains a lone surrogate") from None
    else:
        raw = bytes(value)
    raw = raw.strip(b" \t")
    if _PLAIN.fullmatch(raw) is not None:
        return raw.decode("ascii")
    if raw.startswith(b'"'):
        quoted = _QUOTED.fullmatch(raw)
        if quoted is None:
            raise ValueError("malformed quoted string (RFC 9110, 5.6.4)")
        raw = _ESCAPE.sub(rb"\1", quoted.group(1))
    bad = _BAD_PERCENT.search(raw)
    if bad is not None:
        raise ValueError(f"'%' at position {bad.start()} is not followed by two hex digits")
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"percent-decoded bytes are not UTF-8 ({exc.reason})") from None
