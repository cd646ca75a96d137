"""The Python publisher SDK: ``Publisher.publish(event)`` onto the bridge's input.

Used by applications, by ``eventfn publish``, by the asyncio publisher
(:mod:`broker_bridge.aio`, which the HTTP ingress runs on) and by the workers for
replies. Events go out in the CloudEvents RabbitMQ binding, structured mode by
default (the bridge keeps the original bytes for dead letters), durable, to the
``eventfn.bridge`` queue through the default exchange.

``publish`` and ``publish_many`` return only once the broker confirmed every event
(RabbitMQ publisher confirms; on Redis and the embedded broker a publish is
synchronous). ``publish_many`` pipelines: it publishes the whole batch, then waits
once for the confirms (:mod:`broker_bridge.confirms`). A broker restart is ridden
out by reconnecting and re-publishing what was not confirmed, within the bounds of
``EVENTFN_PUBLISH_MAX_ATTEMPTS`` and the retry intervals
(:mod:`broker_bridge.publisher_pool`); past them ``publish`` raises a
:class:`~broker_bridge.errors.PublishError`. It never drops an event silently.

A ``Publisher`` is thread-safe: it holds a pool of up to
``EVENTFN_PUBLISHER_POOL_SIZE`` connections, one per concurrently publishing thread.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal

import structlog
from cloudevents.core.base import BaseCloudEvent

from broker_bridge import topology
from broker_bridge.bindings.amqp import to_amqp
from broker_bridge.config import Settings, get_settings
from broker_bridge.confirms import UnconfirmedPublish
from broker_bridge.connection import broker_url, mask_url
from broker_bridge.errors import BrokerUnavailable
from broker_bridge.event import check_event, new_event
from broker_bridge.formats.json import to_json
from broker_bridge.invalid import InvalidEventError
from broker_bridge.limits import EventTooLarge, MessageLimits, check_attributes
from broker_bridge.logs import event_fields
from broker_bridge.publisher_pool import ConfirmingPool, OutgoingMessage, Precheck, RetryPolicy
from broker_bridge.taskmessage import build_task_message
from broker_bridge.tracing import messaging_system, publish_spans

__all__ = ["EventLike", "Publisher", "coerce_event"]

log = structlog.get_logger("eventfn.publisher")

EventLike = BaseCloudEvent | Mapping[str, Any]
Mode = Literal["structured", "binary"]


def coerce_event(event: EventLike) -> BaseCloudEvent:
    """A CloudEvent as is (validated), or one created from a mapping.

    A mapping holds attributes plus ``data`` (a JSON value, text or bytes; ``None``
    means no data, :data:`~broker_bridge.event.JSON_NULL` JSON null) or
    ``data_base64`` (binary data in base64, as in the JSON format); it may omit
    ``id`` (a UUID is generated) and ``specversion`` (1.0).
    Raises :class:`~broker_bridge.invalid.InvalidEventError` naming every problem.
    """
    if not isinstance(event, Mapping):
        return check_event(event)
    attributes = {k: v for k, v in event.items() if k not in ("data", "data_base64")}
    if "data_base64" in event:
        if "data" in event:
            raise InvalidEventError.single("data", "give data or data_base64, not both")
        try:
            data: Any = base64.b64decode(event["data_base64"], validate=True)
        except (binascii.Error, TypeError, ValueError) as exc:
            raise InvalidEventError.single("data_base64", f"not base64: {exc}") from None
    else:
        data = event.get("data")
    return new_event(attributes, data)


class Publisher:
    """Publishes CloudEvents to eventfn; a context manager over a connection pool.

    ``url`` defaults to the settings' broker (``EVENTFN_BROKER_URL``, else the
    embedded broker); ``mode`` to ``EVENTFN_PUBLISH_MODE`` (structured).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        settings: Settings | None = None,
        mode: Mode | None = None,
        pool_size: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.url = url or broker_url(self.settings)
        self.mode: Mode = mode or self.settings.publish_mode
        self._pool = ConfirmingPool(self.settings, self.url, size=pool_size, policy=retry)
        self._bridge_queue = topology.bridge_queue()
        self._system = messaging_system(self.url)

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close every broker connection (publishing afterwards raises)."""
        self._pool.close()

    def connect(self) -> Publisher:
        """Open one connection now; raise BrokerUnavailable if the broker is unreachable."""
        try:
            with self._pool.acquire() as out:
                out.declare(self._bridge_queue)
        except UnconfirmedPublish as exc:
            raise BrokerUnavailable(mask_url(self.url), exc.__cause__ or exc) from exc
        return self

    # -- publishing ----------------------------------------------------------------
    def message(self, event: BaseCloudEvent) -> OutgoingMessage:
        """The AMQP message that carries ``event`` to the bridge."""
        amqp = to_amqp(event, mode=self.mode)
        return OutgoingMessage(
            body=amqp.body,
            routing_key=topology.BRIDGE_QUEUE,
            headers=amqp.headers or None,
            content_type=amqp.content_type,
            content_encoding="utf-8" if self.mode == "structured" else None,
            declare=self._bridge_queue,
        )

    def publish(self, event: EventLike, *, retry: RetryPolicy | None = None) -> BaseCloudEvent:
        """Publish one event; returns once the broker confirmed it (the event sent)."""
        return self.publish_many([event], retry=retry)[0]

    def publish_many(
        self, events: Iterable[EventLike], *, retry: RetryPolicy | None = None
    ) -> list[BaseCloudEvent]:
        """Publish every event; returns after the broker confirmed each one.

        Every event is validated before any is sent: an invalid one raises
        InvalidEventError (keys prefixed with its index, ``[3].source``) and
        nothing is published.
        """
        coerced = _coerce_all(events)
        with publish_spans(coerced, destination=topology.BRIDGE_QUEUE, system=self._system) as out:
            self.send(
                [self.message(ce) for ce in out],
                retry=retry,
                precheck=lambda limits: _check_sizes(limits, out),
            )
        coerced = out
        if len(coerced) == 1:
            log.debug("published", **event_fields(coerced[0].get_attributes()))
        else:
            log.debug("published events", count=len(coerced))
        return coerced

    def publish_to_function(
        self, function: str, event: EventLike, *, retry: RetryPolicy | None = None
    ) -> BaseCloudEvent:
        """Put ``event`` straight onto ``function``'s queue (no routing), confirmed."""
        topology.validate_function_name(function)
        queue = topology.function_queue(function)
        spans = publish_spans(
            [coerce_event(event)], destination=queue.name, system=self._system, function=function
        )
        with spans as out:
            ce = out[0]
            task = build_task_message(function, to_json(ce).decode(), ce.get_source(), ce.get_id())
            message = OutgoingMessage(
                body=task.body,
                routing_key=task.routing_key,
                headers=task.headers,
                content_type=task.content_type,
                content_encoding=task.content_encoding,
                properties=task.properties,
                declare=queue,
            )
            self.send([message], retry=retry, precheck=lambda limits: _check_sizes(limits, out))
        log.debug("published to function", **event_fields(ce.get_attributes(), function))
        return ce

    def send(
        self,
        messages: Sequence[OutgoingMessage],
        *,
        retry: RetryPolicy | None = None,
        precheck: Precheck | None = None,
    ) -> None:
        """Publish prepared messages, confirmed (the primitive under every publish).

        Raises :class:`~broker_bridge.limits.MessageTooLarge` (nothing sent) when
        one cannot fit the broker's limits.
        """
        self._pool.send(messages, retry, precheck)

    def ready(self) -> bool:
        """Whether the broker is reachable now (one fresh connection attempt)."""
        return self._pool.check()


def _check_sizes(limits: MessageLimits, events: Sequence[BaseCloudEvent]) -> None:
    """Refuse the batch when one event's attributes exceed the broker's budget."""
    for index, event in enumerate(events):
        try:
            check_attributes(limits, event.get_attributes())
        except EventTooLarge as exc:
            if len(events) == 1:
                raise
            raise EventTooLarge(
                f"[{index}].{exc.part}", exc.size, exc.limit, f"event {index}: {exc}"
            ) from None


def _coerce_all(events: Iterable[EventLike]) -> list[BaseCloudEvent]:
    coerced: list[BaseCloudEvent] = []
    problems: dict[str, list[str]] = {}
    for index, event in enumerate(events):
        try:
            coerced.append(coerce_event(event))
        except InvalidEventError as exc:
            problems.update(exc.prefixed(f"[{index}]"))
    if problems:
        raise InvalidEventError(problems)
    return coerced
