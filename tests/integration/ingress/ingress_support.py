"""Helpers of the ingress tests: reading queues (the server runner is in support)."""

from __future__ import annotations

from typing import Any

from kombu import Connection
from support.ingress_server import running_ingress

from broker_bridge import topology
from broker_bridge.bindings.amqp import from_amqp
from broker_bridge.event import StrictCloudEvent
from broker_bridge.transport import sqlite

__all__ = ["bridge_events", "raw_messages", "running_ingress"]


def bridge_events(broker_url: str, queue: str = topology.BRIDGE_QUEUE) -> list[StrictCloudEvent]:
    """Consume (ack) every message now in ``queue``, decoded as CloudEvents."""
    sqlite.register()
    events = []
    with Connection(broker_url) as conn:
        bound = topology.queue(queue)(conn.channel())
        bound.declare()
        while (message := bound.get(no_ack=True)) is not None:
            body = message.body if isinstance(message.body, bytes) else message.body.encode()
            events.append(from_amqp(body, message.headers, message.content_type))
    return events


def raw_messages(broker_url: str, queue: str) -> list[Any]:
    """Consume (ack) every message now in ``queue`` as kombu messages."""
    sqlite.register()
    with Connection(broker_url) as conn:
        bound = topology.queue(queue)(conn.channel())
        bound.declare()
        messages = []
        while (message := bound.get(no_ack=True)) is not None:
            messages.append(message)
        return messages
