"""What a function queue holds: a CloudEvent as published, plus eventfn's delivery headers.

Function queues carry plain CloudEvents AMQP messages (binary mode: ``ce-`` headers and
the data as body; or structured mode: the JSON format as body), so any AMQP client
reading a function queue sees a standard CloudEvent, and a dead letter keeps the
original bytes. eventfn adds only a few application headers of its own, all named
``eventfn_*`` and absent on a first delivery:

* ``eventfn_attempt``       the attempt number (retries), default 1
* ``eventfn_eta``           ISO 8601 time before which the attempt must not run
* ``eventfn_first_failure`` RFC 3339 time of the first failed attempt
* ``eventfn_defers``        how often the event was put back behind a running duplicate
* ``eventfn_task_id``       the delivery id, kept across retries (attempt markers)
* ``eventfn_previous_span`` ``traceparent`` of the failed attempt (the retry's span links it)

The Celery workers read these messages as task requests through
:mod:`worker_runtime.consumer`; legacy Celery task messages (protocol 2, from an
earlier eventfn) are still accepted there. The task id of a first delivery is the
uuid5 of ``(function, source, id)``: every process derives the same id for the same
event in the same function.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from broker_bridge.bindings.amqp import KOMBU_RAW_CONTENT_TYPE

__all__ = [
    "ATTEMPT",
    "CONTROL_HEADERS",
    "DEFERS",
    "ETA",
    "FIRST_FAILURE",
    "PREVIOUS_SPAN",
    "RAW_CONTENT_TYPE",
    "TASK_ID",
    "FunctionMessage",
    "event_identity",
    "split_headers",
    "task_id_for",
]

ATTEMPT = "eventfn_attempt"
ETA = "eventfn_eta"
FIRST_FAILURE = "eventfn_first_failure"
DEFERS = "eventfn_defers"
TASK_ID = "eventfn_task_id"
PREVIOUS_SPAN = "eventfn_previous_span"
#: eventfn's own headers on a function-queue message (never CloudEvents attributes).
CONTROL_HEADERS = frozenset({ATTEMPT, ETA, FIRST_FAILURE, DEFERS, TASK_ID, PREVIOUS_SPAN})

#: kombu's label for a bytes body without a content type (the AMQP binding reads it as none).
RAW_CONTENT_TYPE = KOMBU_RAW_CONTENT_TYPE

_NAMESPACE = uuid.UUID("9b7c0d9e-6f0b-4c8e-9a55-5e9b1e0f2a61")
_NAMESPACE_SHA1 = hashlib.sha1(_NAMESPACE.bytes, usedforsecurity=False)


def task_id_for(function: str, source: str, event_id: str, hop: str = "") -> str:
    """A stable task id: the same event in the same function gets the same id.

    ``uuid.uuid5(_NAMESPACE, name)``, computed without building a ``UUID`` object.
    """
    sha = _NAMESPACE_SHA1.copy()
    sha.update(f"{function}\x00{source}\x00{event_id}\x00{hop}".encode())
    raw = bytearray(sha.digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def event_identity(
    body: bytes | str, headers: Mapping[str, Any] | None, content_type: str | None
) -> tuple[str, str, str | None] | None:
    """``(source, id, type)`` of a CloudEvents message, cheaply; None when unreadable.

    Binary mode reads three headers; structured mode parses the JSON (the full,
    validating decode happens later, in the pool process).
    """
    if headers:
        source, event_id = headers.get("ce-source"), headers.get("ce-id")
        if source is not None and event_id is not None:
            event_type = headers.get("ce-type")
            return _text(source), _text(event_id), None if event_type is None else _text(event_type)
    if content_type and "cloudevents" in str(content_type).lower():
        try:
            envelope = json.loads(body)
        except (ValueError, TypeError):
            return None
        if isinstance(envelope, dict) and "source" in envelope and "id" in envelope:
            event_type = envelope.get("type")
            return (
                str(envelope["source"]),
                str(envelope["id"]),
                None if event_type is None else str(event_type),
            )
    return None


def split_headers(
    headers: Mapping[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(event headers, control headers)`` of a received message."""
    event: dict[str, Any] = {}
    control: dict[str, Any] = {}
    for key, value in (headers or {}).items():
        name = key.decode() if isinstance(key, bytes) else key
        if name in CONTROL_HEADERS:
            control[name] = value
        else:
            event[name] = value
    return event, control


@dataclass(frozen=True, slots=True)
class FunctionMessage:
    """The event part of a function-queue message: body, CloudEvents headers, type."""

    body: bytes
    headers: Mapping[str, Any]
    content_type: str | None

    @property
    def publish_content_type(self) -> str:
        """The content type to publish with: kombu needs one for a bytes body, and
        reads :data:`RAW_CONTENT_TYPE` back as "no datacontenttype"."""
        return self.content_type or RAW_CONTENT_TYPE

    def with_control(
        self,
        *,
        attempt: int = 1,
        eta: str | None = None,
        first_failure: str | None = None,
        defers: int = 0,
        task_id: str | None = None,
        previous_span: str | None = None,
    ) -> dict[str, Any]:
        """The application headers to publish: the event's plus eventfn's."""
        headers = dict(self.headers)
        if attempt > 1:
            headers[ATTEMPT] = attempt
        if eta:
            headers[ETA] = eta
        if first_failure:
            headers[FIRST_FAILURE] = first_failure
        if defers:
            headers[DEFERS] = defers
        if task_id:
            headers[TASK_ID] = task_id
        if previous_span:
            headers[PREVIOUS_SPAN] = previous_span
        return headers
