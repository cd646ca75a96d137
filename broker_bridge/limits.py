"""Message size limits derived from the broker: what fits one AMQP header frame and
the broker's largest message.

RabbitMQ carries a message as a header frame (every property, application headers
included) plus body frames. The header frame cannot be split: when its properties
exceed the connection's negotiated ``frame_max`` (RabbitMQ's default: 131,072
bytes) the broker closes the whole connection with ``FRAME_ERROR``, taking every
unconfirmed message of the batch with it. The body may span frames, up to the
broker's ``max_message_size`` (RabbitMQ 4's default: 16 MiB; a larger one closes
the channel). Neither failure belongs to one message, so eventfn checks both
before anything is sent:

* :func:`check_message` (every confirmed publish, :mod:`broker_bridge.confirms`,
  and the worker's outbox) refuses a message that cannot fit with
  :class:`MessageTooLarge`, which names the part and the limit; nothing is
  written to the connection, the rest of the batch goes on.
* :func:`check_attributes` (the publisher SDK and the HTTP ingress, before publishing)
  refuses an event whose attributes, written as AMQP headers, exceed
  :attr:`MessageLimits.attribute_budget`: ``frame_max`` less
  :data:`HEADER_RESERVE` bytes kept for what eventfn adds on the way (task
  headers, a dead letter's bounded error context, trace context), so an event
  accepted at the door fits every message it becomes, in either content mode.
  :class:`EventTooLarge` names the largest attribute.
* :func:`fit_headers` shrinks a dead letter's headers when the input's own
  headers leave no room for the error context (a producer that filled the frame).

The frame size is the negotiated one on RabbitMQ; brokers that negotiate none
(Redis, the embedded broker) use ``EVENTFN_BROKER_FRAME_MAX`` (131,072 by
default) so an event accepted on a laptop also fits RabbitMQ.
``EVENTFN_BROKER_MAX_MESSAGE`` is the broker's ``max_message_size`` (not
negotiated in AMQP 0-9-1; set it when the broker's differs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from amqp.basic_message import Message

from broker_bridge.errors import PublishError

__all__ = [
    "HEADER_FRAME_OVERHEAD",
    "HEADER_RESERVE",
    "EventTooLarge",
    "MessageLimits",
    "MessageTooLarge",
    "check_attributes",
    "check_message",
    "fit_headers",
    "properties_size",
]

#: A header frame's bytes besides the properties: type, channel, size, end octet (8)
#: and class id, weight, body size (12).
HEADER_FRAME_OVERHEAD = 20

#: Header bytes kept free of event attributes for what eventfn adds to a message.
HEADER_RESERVE = 16 * 1024

_QUICK_MARGIN = 4096  # below (limit - margin) by the quick bound: no exact encoding


@dataclass(frozen=True, slots=True)
class MessageLimits:
    """The sizes one connection allows (bytes)."""

    frame_max: int = 131_072
    max_message: int = 16 * 1024 * 1024

    @property
    def max_properties(self) -> int:
        """The largest encoded properties (application headers included) of a message."""
        return self.frame_max - HEADER_FRAME_OVERHEAD

    @property
    def attribute_budget(self) -> int:
        """The largest an event's attributes may be, encoded as AMQP headers."""
        return max(self.max_properties - HEADER_RESERVE, 0)


class MessageTooLarge(PublishError, ValueError):
    """A message (or event) cannot fit the broker's limits; never sent.

    ``part`` is what is too large (``"headers"``, ``"body"``, or an attribute name
    for :class:`EventTooLarge`), ``size`` its size and ``limit`` the limit (bytes).
    """

    def __init__(self, part: str, size: int, limit: int, detail: str) -> None:
        self.part = part
        self.size = size
        self.limit = limit
        super().__init__(detail)


class EventTooLarge(MessageTooLarge):
    """An event's attributes exceed :attr:`MessageLimits.attribute_budget`."""

    @property
    def attribute(self) -> str:
        return self.part


def properties_size(
    headers: Mapping[str, Any] | None,
    properties: Mapping[str, Any] | None = None,
    content_type: str | None = None,
    content_encoding: str | None = None,
) -> int:
    """The exact encoded size of a message's properties (py-amqp's encoding)."""
    message = Message(
        b"",
        content_type=content_type,
        content_encoding=content_encoding,
        application_headers=dict(headers) if headers else None,
        **{k: v for k, v in (properties or {}).items() if v is not None},
    )
    return len(message._serialize_properties())


def _bound(value: Any, depth: int = 0) -> int | None:
    """An upper bound of ``value``'s encoded size, or None when not cheap to tell."""
    size: int | None = None
    if isinstance(value, str):
        size = 4 * len(value) + 5
    elif value is None or isinstance(value, bool | int | float):
        size = 9
    elif isinstance(value, bytes | bytearray):
        size = len(value) + 5
    elif depth < 3 and isinstance(value, list | tuple):
        size = 5
        for item in value:
            item_size = _bound(item, depth + 1)
            if item_size is None:
                return None
            size += item_size
    elif depth < 3 and isinstance(value, Mapping):
        size = _mapping_bound(value, depth + 1)
    return size


def _mapping_bound(values: Mapping[str, Any], depth: int = 0) -> int | None:
    total = 5
    for key, value in values.items():
        size = _bound(value, depth)
        if size is None:
            return None
        total += 4 * len(str(key)) + 1 + size
    return total


def check_message(
    limits: MessageLimits,
    body: bytes,
    headers: Mapping[str, Any] | None,
    properties: Mapping[str, Any] | None = None,
    content_type: str | None = None,
    content_encoding: str | None = None,
) -> None:
    """Raise :class:`MessageTooLarge` unless the message fits ``limits``.

    Cheap for ordinary messages: the exact encoding is computed only when a quick
    upper bound comes near the limit.
    """
    if len(body) > limits.max_message:
        raise MessageTooLarge(
            "body",
            len(body),
            limits.max_message,
            f"message body of {len(body)} bytes exceeds the broker's max message size "
            f"of {limits.max_message} bytes",
        )
    quick = _mapping_bound(headers or {})
    props = _mapping_bound(properties or {})
    if quick is not None and props is not None:
        quick += props + 4 * (len(content_type or "") + len(content_encoding or "")) + 64
        if quick <= limits.max_properties - _QUICK_MARGIN:
            return
    size = properties_size(headers, properties, content_type, content_encoding)
    if size > limits.max_properties:
        raise MessageTooLarge(
            "headers",
            size,
            limits.max_properties,
            f"message headers of {size} bytes exceed the {limits.max_properties} bytes one "
            f"AMQP frame carries (frame_max {limits.frame_max})",
        )


def check_attributes(limits: MessageLimits, attributes: Mapping[str, Any]) -> None:
    """Raise :class:`EventTooLarge` when the event's attributes exceed the budget.

    ``attributes`` is the event's attributes as AMQP headers would carry them (the
    size counted is that of the binary-mode headers: every attribute, its name and
    its value). The error names the largest attribute.
    """
    budget = limits.attribute_budget
    quick = _mapping_bound(attributes)
    if quick is not None and quick <= budget - _QUICK_MARGIN:
        return
    size = properties_size({f"ce-{k}": _header_value(v) for k, v in attributes.items()})
    if size <= budget:
        return
    name, value = max(attributes.items(), key=lambda item: len(str(item[1])))
    value_size = len(str(value).encode("utf-8", "surrogatepass"))
    raise EventTooLarge(
        name,
        size,
        budget,
        f"the event's attributes take {size} bytes as AMQP headers, over the limit of "
        f"{budget} bytes (the broker's frame_max {limits.frame_max} less {HEADER_RESERVE} "
        f"kept for eventfn's own headers); its largest attribute {name!r} is "
        f"{value_size} bytes",
    )


def _header_value(value: Any) -> Any:
    if isinstance(value, str | int | bool) or value is None:
        return value
    return str(value)


def fit_headers(
    headers: Mapping[str, Any],
    limits: MessageLimits,
    keep: tuple[str, ...] = (),
    *,
    note: str = "eventfndroppedheaders",
) -> dict[str, Any]:
    """``headers`` with the largest ones (except ``keep``) removed until they fit.

    The names and sizes of the removed headers are listed in header ``note``. Used
    for dead letters: the error context is kept, the input's bulk is dropped.
    """
    fitted = dict(headers)
    if properties_size(fitted) <= limits.max_properties - 1024:
        return fitted
    dropped: list[str] = []
    candidates = sorted(
        (k for k in fitted if k not in keep), key=lambda k: len(str(fitted[k])), reverse=True
    )
    for key in candidates:
        dropped.append(f"{key} ({len(str(fitted.pop(key)))} chars)")
        fitted[note] = ", ".join(dropped)[:1024]
        if properties_size(fitted) <= limits.max_properties - 1024:
            break
    return fitted
