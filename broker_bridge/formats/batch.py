"""The CloudEvents JSON batch format (``application/cloudevents-batch+json``).

Missing from SDK 2.2.0. A batch is a JSON array of events in the JSON format (an
empty array is a valid batch). Called by the ingress (``POST /`` with a batch) and
by the HTTP binding's batch mode. A batch is all or nothing: if any element is
invalid, :class:`~broker_bridge.invalid.InvalidEventError` lists every problem of
every element, keys prefixed with the element's index (``"[2].time"``).
"""

from __future__ import annotations

from collections.abc import Iterable

from cloudevents.core.base import BaseCloudEvent

from broker_bridge.event import StrictCloudEvent
from broker_bridge.formats._data import dumps, loads
from broker_bridge.formats.json import event_from_dict, event_to_dict
from broker_bridge.invalid import InvalidEventError

__all__ = ["CONTENT_TYPE", "from_batch", "to_batch"]

CONTENT_TYPE = "application/cloudevents-batch+json"


def to_batch(events: Iterable[BaseCloudEvent]) -> bytes:
    """Serialize events as one JSON batch; raise InvalidEventError naming bad elements."""
    items = []
    problems: dict[str, list[str]] = {}
    for index, event in enumerate(events):
        try:
            items.append(event_to_dict(event))
        except InvalidEventError as exc:
            problems.update(exc.prefixed(f"[{index}]"))
    if problems:
        raise InvalidEventError(problems)
    try:
        return dumps(items).encode("ascii")
    except ValueError as exc:
        raise InvalidEventError.single("data", str(exc)) from None


def from_batch(body: bytes | str) -> list[StrictCloudEvent]:
    """Parse a JSON batch; raise InvalidEventError with every problem of every element."""
    try:
        value = loads(body)
    except ValueError as exc:
        raise InvalidEventError.single("$", f"not a JSON batch: {exc}") from None
    if type(value) is not list:
        raise InvalidEventError.single("$", "a CloudEvents batch is a JSON array of events")
    events: list[StrictCloudEvent] = []
    problems: dict[str, list[str]] = {}
    for index, item in enumerate(value):
        try:
            events.append(event_from_dict(item))
        except InvalidEventError as exc:
            problems.update(exc.prefixed(f"[{index}]"))
    if problems:
        raise InvalidEventError(problems)
    return events
