"""Binary content mode, transport-neutral: attributes beside the body, body as data.

Private helper of :mod:`broker_bridge.bindings.http` and ``.amqp``: each binding
maps attributes to its own headers, then calls :func:`read_binary` with the decoded
header values or :func:`write_body` for the payload. Gaps of the SDK closed here: a
message without ``specversion`` is refused (the SDK takes it as 1.0), nothing is
filled in, a ``ce-datacontenttype`` header is refused (the content type travels in
the transport's own content-type field), and the body is typed by content type
(:mod:`broker_bridge.formats._data`).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from broker_bridge.event import StrictCloudEvent, validate_attributes
from broker_bridge.formats._data import decode_body, encode_body
from broker_bridge.invalid import InvalidEventError

__all__ = ["read_binary", "write_body"]


def write_body(event: StrictCloudEvent) -> bytes:
    """The body of ``event`` in binary mode; raise InvalidEventError if unwritable."""
    try:
        return encode_body(
            event.get_data(), event.has_data, event.get_attributes().get("datacontenttype")
        )
    except ValueError as exc:
        raise InvalidEventError.single("data", str(exc)) from None


def read_binary(
    raw: dict[str, Any],
    content_type: str | None,
    body: bytes,
    problems: dict[str, list[str]],
    content_type_field: str,
) -> StrictCloudEvent:
    """Build an event from decoded header values, the content type and the body.

    ``problems`` may already hold header-decoding problems; all are raised together.
    ``content_type_field`` names the transport's field in messages (``Content-Type``).
    """
    if "datacontenttype" in raw:
        problems.setdefault("datacontenttype", []).append(
            f"in binary mode datacontenttype travels in {content_type_field}, not in a"
            " ce-datacontenttype header"
        )
        del raw["datacontenttype"]
    if content_type is not None:
        raw["datacontenttype"] = content_type
    attributes, data_is_base64 = validate_attributes(raw, problems)
    data: Any = None
    present = False
    if content_type is None or "datacontenttype" in attributes:
        if data_is_base64:
            try:
                data, present = base64.b64decode(body, validate=True), True
            except (binascii.Error, ValueError) as exc:
                problems.setdefault("data", []).append(
                    f"datacontentencoding is base64 but the body is not: {exc}"
                )
        else:
            try:
                data, present = decode_body(body, attributes.get("datacontenttype"))
            except ValueError as exc:
                problems.setdefault("data", []).append(str(exc))
    if problems:
        raise InvalidEventError(problems)
    return StrictCloudEvent.trusted(attributes, data, present)
