"""Media types (RFC 2046 / RFC 9110): parse one, and say how its payload is typed.

Private helper of :mod:`broker_bridge.event` (which validates ``datacontenttype``)
and of the body codec :mod:`broker_bridge.formats._data`. Results are cached: an
installation sees a handful of distinct content types, and this is on every event.

Classification (our reading of the JSON format spec, closing an SDK gap: the SDK only
treats ``application/*json`` and ``text/*json`` as JSON):

* ``json``: subtype ``json`` or ending in ``+json``, whatever the type (``*/json``,
  ``*/*+json``);
* ``text``: type ``text``, subtype ``xml`` or ``*+xml``, or any media type with a
  ``charset`` parameter;
* ``binary``: everything else.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

__all__ = ["PICKLE_MEDIA_TYPES", "MediaType", "is_pickle", "parse_media_type"]

#: Python's pickle (kombu calls it ``application/x-python-serialize``): unpickling runs
#: code, so eventfn refuses events that declare it (ingress 415, bridge dead letter).
PICKLE_MEDIA_TYPES = frozenset(
    {
        "application/x-python-serialize",
        "application/x-python-pickle",
        "application/python-pickle",
        "application/x-pickle",
        "application/pickle",
    }
)

_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[\t !#-\[\]-~]|\\[\t -~])*"'
_MEDIA_TYPE = re.compile(
    rf"[ \t]*({_TCHARS})/({_TCHARS})((?:[ \t]*;[ \t]*{_TCHARS}=(?:{_TCHARS}|{_QUOTED}))*)[ \t]*"
)
_PARAM = re.compile(rf"[ \t]*;[ \t]*({_TCHARS})=({_TCHARS}|{_QUOTED})")

Kind = Literal["json", "text", "binary"]


@dataclass(frozen=True, slots=True)
class MediaType:
    """A parsed media type: lower-cased ``type/subtype``, how data of it is typed,
    and the Python codec named by its ``charset`` (``None`` when absent or unknown)."""

    essence: str
    kind: Kind
    charset: str | None
    charset_given: bool


def is_pickle(content_type: str | None) -> bool:
    """Whether ``content_type`` names a pickle media type (parameters ignored)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip(" \t").lower() in PICKLE_MEDIA_TYPES


@lru_cache(maxsize=512)
def parse_media_type(value: str) -> MediaType:
    """Parse ``value``; raise ``ValueError`` with the reason when it is not a media type."""
    match = _MEDIA_TYPE.fullmatch(value)
    if match is None:
        raise ValueError(
            f"{_short(value)} is not a media type (RFC 2046: type/subtype;param=value)"
        )
    main, sub = match.group(1).lower(), match.group(2).lower()
    charset_name: str | None = None
    charset_given = False
    for name, raw in _PARAM.findall(match.group(3)):
        if name.lower() == "charset":
            charset_given = True
            charset_name = raw[1:-1] if raw.startswith('"') else raw
    kind: Kind
    if sub == "json" or sub.endswith("+json"):
        kind = "json"
    elif main == "text" or sub == "xml" or sub.endswith("+xml") or charset_given:
        kind = "text"
    else:
        kind = "binary"
    charset: str | None = None
    if charset_name is not None:
        try:
            charset = codecs.lookup(charset_name).name
        except LookupError:
            charset = None
    return MediaType(f"{main}/{sub}", kind, charset, charset_given)


def _short(value: str) -> str:
    return repr(value if len(value) <= 60 else value[:57] + "...")
