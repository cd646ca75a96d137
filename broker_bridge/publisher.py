"""The Python publisher SDK: ``Publisher.publish(event)`` onto the bridge's input.

Events go out in CloudEvents structured JSON (the RabbitMQ binding's structured
mode), durable, with a broker confirm per publish on RabbitMQ, so ``publish``
returns only once the broker has the event. Used by applications, by
``eventfn publish`` and by the workers for replies.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

import structlog
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.exceptions import CloudEventValidationError
from cloudevents.core.v1.event import CloudEvent
from kombu import Connection, Producer

from broker_bridge import topology
from broker_bridge.config import Settings, get_settings
from broker_bridge.connection import broker_url, connect, mask_url
from broker_bridge.errors import BrokerUnavailable, PublishError
from broker_bridge.formats.json import CONTENT_TYPE, to_json
from broker_bridge.invalid import InvalidEventError
from broker_bridge.logs import event_fields

__all__ = ["EventLike", "Publisher", "coerce_event"]

log = structlog.get_logger("eventfn.publisher")

EventLike = BaseCloudEvent | Mapping[str, Any]

_RETRY_POLICY = {"max_retries": 3, "interval_start": 0.1, "interval_step": 0.5, "interval_max": 2.0}


def coerce_event(event: EventLike) -> BaseCloudEvent:
    """A CloudEvent as is, or one built from a mapping of attributes plus ``data``.

    A mapping may omit ``id`` (a UUID is generated) and ``specversion`` (1.0).
    """
    if isinstance(event, Mapping):
        attributes = {key: value for key, value in event.items() if key != "data"}
        attributes.setdefault("id", str(uuid.uuid4()))
        attributes.setdefault("specversion", "1.0")
        try:
            return CloudEvent(attributes, event.get("data"))
        except CloudEventValidationError as exc:
            raise InvalidEventError(
                {attr: [str(err) for err in errs] for attr, errs in exc.errors.items()}
            ) from exc
    return event


class Publisher:
    """Publishes CloudEvents to eventfn; a context manager that owns one connection."""

    def __init__(self, url: str | None = None, *, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.url = url or broker_url(self.settings)
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self._queue = topology.bridge_queue()

    def __enter__(self) -> Publisher:
        self._ensure_producer()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.release()
        self._connection = None
        self._producer = None

    def _ensure_producer(self) -> Producer:
        if self._producer is None:
            conn = connect(self.settings, self.url)
            try:
                conn.ensure_connection(max_retries=2, timeout=self.settings.connect_timeout)
            except Exception as exc:  # transport-specific connection errors
                conn.release()
                raise BrokerUnavailable(mask_url(self.url), str(exc) or type(exc).__name__) from exc
            self._connection = conn
            self._producer = Producer(conn.default_channel)
        return self._producer

    def publish(self, event: EventLike) -> BaseCloudEvent:
        """Publish one event; returns once the broker confirmed it (the event sent)."""
        ce = coerce_event(event)
        body = to_json(ce)
        producer = self._ensure_producer()
        try:
            producer.publish(
                body,
                exchange="",
                routing_key=topology.BRIDGE_QUEUE,
                declare=[self._queue],
                content_type=CONTENT_TYPE,
                content_encoding="utf-8",
                delivery_mode=2,
                retry=True,
                retry_policy=_RETRY_POLICY,
            )
        except Exception as exc:  # kombu raises transport errors after its bounded retries
            raise PublishError(f"publish to {mask_url(self.url)} failed: {exc}") from exc
        log.debug("published", **event_fields(ce.get_attributes()))
        return ce

    def publish_many(self, events: Iterable[EventLike]) -> list[BaseCloudEvent]:
        """Publish every event; returns after the broker confirmed each one."""
        return [self.publish(event) for event in events]
