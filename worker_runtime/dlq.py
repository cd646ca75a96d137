"""Read, replay and purge a function's dead-letter queue (``eventfn dlq``).

A dead letter is the original CloudEvents message, byte for byte (body, ``ce-``
headers in binary mode, content type), with the error extensions of
:mod:`worker_runtime.deadletter` as extra message headers.
``list`` reads without consuming (every message is put back); ``replay`` sends
each event back through the bridge (every subscriber gets it again) or straight
onto the function's queue as a first attempt, and acks the dead letter only once
that publish is confirmed; ``purge`` drops them. Called by
:mod:`worker_runtime.commands.dlq`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from cloudevents.core.base import BaseCloudEvent
from kombu import Connection, Message, Producer

from broker_bridge import topology
from broker_bridge.bindings.amqp import from_amqp
from broker_bridge.bindings_plan import routing_key_for
from broker_bridge.config import Settings
from broker_bridge.connection import connect
from broker_bridge.formats.json import CONTENT_TYPE, to_json
from broker_bridge.invalid import InvalidEventError
from broker_bridge.wire import RAW_CONTENT_TYPE, FunctionMessage, split_headers
from worker_runtime.deadletter import HEADER_NAMES
from worker_runtime.publishing import dead_letter_queue

__all__ = ["DeadLetterMessage", "ReplayTarget", "list_dead_letters", "purge", "replay"]

ReplayTarget = Literal["bridge", "function"]


@dataclass(frozen=True)
class DeadLetterMessage:
    """One dead letter: the original bytes, CloudEvents headers, content type and the
    error extensions."""

    body: bytes
    extensions: dict[str, Any]
    headers: dict[str, Any] = field(default_factory=dict)
    content_type: str | None = CONTENT_TYPE

    @property
    def event(self) -> dict[str, Any]:
        """The event as a JSON object (structured form); for a dead letter that is
        not a valid CloudEvent, the body's JSON object, else ``{"body": text}``."""
        try:
            value: Any = json.loads(to_json(self.cloudevent()))
        except InvalidEventError:
            try:
                value = json.loads(self.body)
            except ValueError:
                value = None
            if not isinstance(value, dict):
                value = {"body": self.body.decode("utf-8", "replace")}
        return dict(value)

    def cloudevent(self) -> BaseCloudEvent:
        """The dead-lettered event (raises InvalidEventError when it was not one)."""
        return from_amqp(self.body, self.headers, self.content_type)

    def message(self) -> FunctionMessage:
        return FunctionMessage(self.body, self.headers, self.content_type)


def _body(message: Message) -> bytes:
    body = message.body
    return body if isinstance(body, bytes) else str(body).encode()


def _letter(message: Message) -> DeadLetterMessage:
    headers = message.headers or {}
    extensions = {name: headers[name] for name in HEADER_NAMES if name in headers}
    event_headers, _ = split_headers({k: v for k, v in headers.items() if k not in HEADER_NAMES})
    content_type = message.content_type
    if content_type == RAW_CONTENT_TYPE:
        content_type = None
    return DeadLetterMessage(_body(message), extensions, event_headers, content_type)


@contextmanager
def _queue(settings: Settings, function: str) -> Iterator[tuple[Connection, Any]]:
    topology.validate_function_name(function)
    conn = connect(settings)
    try:
        conn.ensure_connection(max_retries=2, timeout=settings.connect_timeout)
        queue = dead_letter_queue(function)(conn.default_channel)
        queue.declare()
        yield conn, queue
    finally:
        conn.release()


def list_dead_letters(
    settings: Settings, function: str, limit: int | None = None
) -> list[DeadLetterMessage]:
    """Up to ``limit`` dead letters of ``function``, oldest first, left in the queue."""
    held: list[Message] = []
    letters: list[DeadLetterMessage] = []
    with _queue(settings, function) as (_, queue):
        try:
            while limit is None or len(held) < limit:
                message = queue.get(no_ack=False, accept=None)
                if message is None:
                    break
                held.append(message)
                letters.append(_letter(message))
        finally:
            for message in held:
                message.requeue()
    return letters


def replay(
    settings: Settings,
    function: str,
    *,
    to: ReplayTarget = "function",
    limit: int | None = None,
) -> int:
    """Send dead letters back (``to`` the bridge or the function); returns how many."""
    count = 0
    with _queue(settings, function) as (conn, queue):
        producer = Producer(conn.default_channel)
        while limit is None or count < limit:
            message = queue.get(no_ack=False, accept=None)
            if message is None:
                break
            try:
                _republish(producer, function, _letter(message).message(), to)
            except BaseException:
                message.requeue()
                raise
            message.ack()
            count += 1
    return count


def _republish(
    producer: Producer, function: str, message: FunctionMessage, to: ReplayTarget
) -> None:
    """The original message again, as a first attempt: to every subscriber (the events
    exchange on RabbitMQ, else the bridge's input) or straight onto the function's queue."""
    exchange, queue = "", topology.function_queue(function)
    key = queue.name
    if to == "bridge":
        native = topology.native_routing(producer.connection.as_uri())
        queue = topology.bridge_queue(native)
        key = queue.name
        if native:
            exchange, key = topology.EVENTS_EXCHANGE, _routing_key(message)
    producer.publish(
        message.body,
        exchange=exchange,
        routing_key=key,
        declare=[queue],
        headers=dict(message.headers),
        content_type=message.publish_content_type,
        delivery_mode=2,
        retry=True,
    )


def _routing_key(message: FunctionMessage) -> str:
    try:
        return routing_key_for(
            from_amqp(message.body, message.headers, message.content_type).get_type()
        )
    except InvalidEventError:
        return ""  # no binding matches: the alternate exchange takes it to the bridge


def purge(settings: Settings, function: str) -> int:
    """Drop every dead letter of ``function``; returns how many were dropped."""
    with _queue(settings, function) as (_, queue):
        return int(queue.purge() or 0)
