"""The kombu :class:`~worker_runtime.ports.Outbox`: retries, dead letters and replies.

Publishes through the Celery app's producer pool on the broker's default exchange,
durable, with ``retry=True``; on RabbitMQ the connection has publisher confirms
(``confirm_publish``), so each publish returns once the broker has the message and
the input can be acked after it. Created once per worker process by
:mod:`worker_runtime.app`. A retry carries the failed attempt's span context in its
``eventfn_previous_span`` header, for the next attempt's span to link to.

Every message is checked against the broker's limits first
(:mod:`broker_bridge.limits`; the negotiated ``frame_max`` on RabbitMQ): one that
cannot fit raises :class:`~broker_bridge.limits.MessageTooLarge` before anything
is sent, so the connection is never closed over it. Replies are all checked
before the first is published (the Replies middleware dead-letters the input
then); a dead letter's headers are fitted (:func:`~broker_bridge.limits.fit_headers`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import Celery
from cloudevents.core.base import BaseCloudEvent
from kombu import Queue

from broker_bridge import topology
from broker_bridge.formats.json import CONTENT_TYPE, to_json
from broker_bridge.limits import MessageLimits, check_attributes, check_message, fit_headers
from broker_bridge.taskmessage import build_task_message
from broker_bridge.tracing import current_traceparent
from worker_runtime.context import Delivery

__all__ = ["KombuOutbox", "dead_letter_queue", "eta_after"]

_RETRY_POLICY = {"max_retries": 5, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 3.0}


def dead_letter_queue(function: str) -> Queue:
    name = topology.function_dlq_name(function)
    return Queue(name, exchange="", routing_key=name, durable=True)


def eta_after(delay: float) -> str | None:
    """The protocol-2 ``eta`` header for a message due in ``delay`` seconds (None: now)."""
    if delay <= 0:
        return None
    return (datetime.now(UTC) + timedelta(seconds=delay)).isoformat()


class KombuOutbox:
    """Publishes with the app's producer pool (one per process)."""

    def __init__(self, app: Celery, limits: MessageLimits | None = None) -> None:
        self.app = app
        self.default_limits = limits or MessageLimits()

    def limits(self, producer: Any) -> MessageLimits:
        """The limits of the producer's connection (negotiated frame_max on RabbitMQ)."""
        raw = getattr(producer.connection, "connection", None)
        frame_max = getattr(raw, "frame_max", None)
        if producer.connection.transport.driver_type == "amqp" and isinstance(frame_max, int):
            return MessageLimits(frame_max, self.default_limits.max_message)
        return self.default_limits

    def check(self, body: bytes, headers: Mapping[str, Any], **extra: Any) -> None:
        """Raise MessageTooLarge unless the message fits the broker's limits."""
        with self.app.producer_or_acquire() as producer:
            limits = self.limits(producer)
        content_type = extra.get("content_type")
        content_encoding = extra.get("content_encoding")
        props = {k: v for k, v in extra.items() if k not in ("content_type", "content_encoding")}
        check_message(limits, body, headers, props, content_type, content_encoding)

    def _publish(self, body: bytes, queue: Queue, headers: dict[str, Any], **extra: Any) -> None:
        with self.app.producer_or_acquire() as producer:
            limits = self.limits(producer)
            content_type = extra.get("content_type")
            content_encoding = extra.get("content_encoding")
            props = {
                k: v for k, v in extra.items() if k not in ("content_type", "content_encoding")
            }
            check_message(limits, body, headers, props, content_type, content_encoding)
            producer.publish(
                body,
                exchange="",
                routing_key=queue.name,
                declare=[queue],
                headers=headers,
                delivery_mode=2,
                retry=True,
                retry_policy=_RETRY_POLICY,
                **extra,
            )

    def publish_retry(
        self,
        delivery: Delivery,
        *,
        attempt: int,
        delay: float,
        first_failure: str | None,
        defers: int = 0,
    ) -> None:
        envelope = json.loads(delivery.body)
        task = build_task_message(
            delivery.spec.name,
            delivery.body,
            str(envelope.get("source")),
            str(envelope.get("id")),
            attempt=attempt,
            extra_headers={
                "id": delivery.task_id,
                "root_id": delivery.task_id,
                "eta": eta_after(delay),
                "eventfn_first_failure": first_failure,
                "eventfn_defers": defers,
                "eventfn_previous_span": current_traceparent().get("traceparent"),
            },
        )
        properties = {**task.properties, "correlation_id": delivery.task_id}
        properties.pop("delivery_mode", None)
        self._publish(
            task.body,
            topology.function_queue(delivery.spec.name),
            task.headers,
            content_type=task.content_type,
            content_encoding=task.content_encoding,
            **properties,
        )

    def publish_dead_letter(self, delivery: Delivery, headers: Mapping[str, Any]) -> None:
        fitted = fit_headers(
            headers, self.default_limits, keep=("eventfnerror", "eventfnerrortype")
        )
        self._publish(
            delivery.body.encode(),
            dead_letter_queue(delivery.spec.name),
            fitted,
            content_type=CONTENT_TYPE,
            content_encoding="utf-8",
        )

    def publish_replies(self, events: Sequence[BaseCloudEvent]) -> None:
        queue = topology.bridge_queue()
        bodies = [to_json(event) for event in events]
        for event, body in zip(events, bodies, strict=True):  # refuse before the first is sent
            check_attributes(self.default_limits, event.get_attributes())
            self.check(body, {}, content_type=CONTENT_TYPE, content_encoding="utf-8")
        for body in bodies:
            self._publish(
                body,
                queue,
                {},
                content_type=CONTENT_TYPE,
                content_encoding="utf-8",
            )
