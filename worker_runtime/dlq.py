"""Read, replay and purge a function's dead-letter queue (``eventfn dlq``).

A dead letter is the original event's structured JSON, byte for byte, with the
error extensions of :mod:`worker_runtime.deadletter` as message headers.
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
from dataclasses import dataclass
from typing import Any, Literal

from kombu import Connection, Message, Producer

from broker_bridge import topology
from broker_bridge.config import Settings
from broker_bridge.connection import connect
from broker_bridge.formats.json import CONTENT_TYPE
from broker_bridge.taskmessage import build_task_message
from worker_runtime.deadletter import HEADER_NAMES
from worker_runtime.publishing import dead_letter_queue

__all__ = ["DeadLetterMessage", "ReplayTarget", "list_dead_letters", "purge", "replay"]

ReplayTarget = Literal["bridge", "function"]


@dataclass(frozen=True)
class DeadLetterMessage:
    """One dead letter: the original bytes and the error extensions."""

    body: bytes
    extensions: dict[str, Any]

    @property
    def event(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value


def _body(message: Message) -> bytes:
    body = message.body
    return body if isinstance(body, bytes) else str(body).encode()


def _extensions(message: Message) -> dict[str, Any]:
    headers = message.headers or {}
    return {name: headers[name] for name in HEADER_NAMES if name in headers}


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
                letters.append(DeadLetterMessage(_body(message), _extensions(message)))
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
                _republish(producer, function, _body(message), to)
            except BaseException:
                message.requeue()
                raise
            message.ack()
            count += 1
    return count


def _republish(producer: Producer, function: str, body: bytes, to: ReplayTarget) -> None:
    if to == "bridge":
        queue = topology.bridge_queue()
        producer.publish(
            body,
            exchange="",
            routing_key=queue.name,
            declare=[queue],
            content_type=CONTENT_TYPE,
            content_encoding="utf-8",
            delivery_mode=2,
            retry=True,
        )
        return
    envelope = json.loads(body)
    task = build_task_message(
        function, body.decode(), str(envelope.get("source")), str(envelope.get("id"))
    )
    producer.publish(
        task.body,
        exchange="",
        routing_key=task.routing_key,
        declare=[topology.function_queue(function)],
        headers=task.headers,
        content_type=task.content_type,
        content_encoding=task.content_encoding,
        retry=True,
        **task.properties,
    )


def purge(settings: Settings, function: str) -> int:
    """Drop every dead letter of ``function``; returns how many were dropped."""
    with _queue(settings, function) as (_, queue):
        return int(queue.purge() or 0)
