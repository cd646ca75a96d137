"""The bridge process: read events from its input queue, route, fan out, then ack.

For every input message: decode the CloudEvent, ask the router which functions
take it, publish one Celery task message per function (confirmed by the broker on
RabbitMQ), and only then ack the input. Undecodable input goes to the bridge's
dead-letter queue with the reason; the bridge never crashes on input. Several
bridge processes can consume the same input queue. Reconnects are kombu's
``ConsumerProducerMixin``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import structlog
from kombu import Connection, Consumer, Message, Queue
from kombu.mixins import ConsumerProducerMixin

from broker_bridge import topology
from broker_bridge.config import Settings
from broker_bridge.connection import connect
from broker_bridge.formats.json import CONTENT_TYPE, from_json
from broker_bridge.invalid import InvalidEventError
from broker_bridge.logs import event_fields
from broker_bridge.taskmessage import build_task_message

__all__ = ["Bridge", "BridgeStats", "Router"]

log = structlog.get_logger("eventfn.bridge")

#: Given an event's attributes, the names of the functions that receive it.
Router = Callable[[Mapping[str, Any]], Sequence[str]]


class BridgeStats:
    """Counters of one bridge process (exported as Prometheus metrics later)."""

    def __init__(self) -> None:
        self.received = 0
        self.routed = 0
        self.fanout = 0
        self.unmatched = 0
        self.dead_lettered = 0


class Bridge(ConsumerProducerMixin):  # type: ignore[misc]
    """Consumes ``eventfn.bridge`` and publishes task messages to function queues."""

    def __init__(
        self,
        settings: Settings,
        router: Router,
        *,
        connection: Connection | None = None,
    ) -> None:
        self.settings = settings
        self.router = router
        self.connection = connection or connect(settings)
        self.stats = BridgeStats()
        self._declared: dict[str, Queue] = {}
        self.should_stop = False

    # -- kombu mixin hooks ---------------------------------------------------------
    def get_consumers(self, consumer_cls: type[Consumer], channel: Any) -> list[Consumer]:
        consumer = consumer_cls(
            queues=[topology.bridge_queue()],
            on_message=self.on_message,
            prefetch_count=self.settings.bridge_prefetch,
            accept=None,
        )
        return [consumer]

    def on_connection_error(self, exc: BaseException, interval: float) -> None:
        log.warning("broker connection lost; reconnecting", error=str(exc), retry_in=interval)

    def on_consume_ready(self, connection: Any, channel: Any, consumers: Any, **_: Any) -> None:
        log.info("bridge consuming", queue=topology.BRIDGE_QUEUE)

    # -- one message ---------------------------------------------------------------
    def on_message(self, message: Message) -> None:
        self.stats.received += 1
        body: bytes = message.body if isinstance(message.body, bytes) else message.body.encode()
        content_type = (message.content_type or "").split(";")[0].strip().lower()
        try:
            if content_type != CONTENT_TYPE:
                raise InvalidEventError.single(
                    "$", f"unsupported content type {message.content_type!r} on the bridge input"
                )
            event = from_json(body)
        except InvalidEventError as exc:
            self._dead_letter(message, body, str(exc))
            return
        attributes = event.get_attributes()
        try:
            functions = self.router(attributes)
        except Exception as exc:  # a router bug must not stop the bridge; keep the event
            log.exception("routing failed", **event_fields(attributes))
            self._dead_letter(message, body, f"routing failed: {type(exc).__name__}: {exc}")
            return
        if not functions:
            self.stats.unmatched += 1
            log.info("no subscription matches", **event_fields(attributes))
            message.ack()
            return
        event_json = body.decode()
        for function in functions:
            self._publish_task(function, event_json, attributes)
        message.ack()
        self.stats.routed += 1
        self.stats.fanout += len(functions)
        log.debug("routed", functions=list(functions), **event_fields(attributes))

    def _queue(self, name: str) -> Queue:
        queue = self._declared.get(name)
        if queue is None:
            queue = Queue(name, exchange="", routing_key=name, durable=True)
            self._declared[name] = queue
        return queue

    def _publish_task(self, function: str, event_json: str, attributes: Mapping[str, Any]) -> None:
        task = build_task_message(
            function, event_json, str(attributes["source"]), str(attributes["id"])
        )
        self.producer.publish(
            task.body,
            exchange="",
            routing_key=task.routing_key,
            declare=[self._queue(task.routing_key)],
            content_type=task.content_type,
            content_encoding=task.content_encoding,
            headers=task.headers,
            retry=True,
            **task.properties,
        )

    def _dead_letter(self, message: Message, body: bytes, reason: str) -> None:
        self.stats.dead_lettered += 1
        log.warning("undecodable input dead-lettered", reason=reason)
        self.producer.publish(
            body,
            exchange="",
            routing_key=topology.BRIDGE_DLQ,
            declare=[self._queue(topology.BRIDGE_DLQ)],
            content_type=message.content_type or "application/octet-stream",
            content_encoding=message.content_encoding or "binary",
            headers={
                **(message.headers or {}),
                "eventfnerror": reason[:1024],
                "eventfnerrortype": "InvalidEventError",
            },
            delivery_mode=2,
            retry=True,
        )
        message.ack()
