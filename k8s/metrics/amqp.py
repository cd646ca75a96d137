"""RabbitMQ queue depth over AMQP 0-9-1: a passive ``queue.declare``.

What it sees: ``message_count`` (ready messages only) and ``consumer_count``. What it
cannot see: unacknowledged messages, i.e. handlers running under ``acks_late`` (the
trap of KEDA's AMQP mode, where a function whose handlers are all busy looks idle).
The autoscaler therefore combines it with the workers' in-flight reports (local
actuator) or uses the management API (:mod:`k8s.metrics.management`) when enabled.
Needs no plugin and only the ``configure``-free passive declare right.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import amqp.exceptions
from kombu import Connection

from broker_bridge.connection import mask_url
from k8s.errors import MetricsUnavailable
from k8s.metrics.stats import QueueStats

__all__ = ["AmqpQueueStats"]


class AmqpQueueStats:
    """Passive declares on one lazily opened, reused connection."""

    name = "rabbitmq-amqp"
    sees_unacked = False

    def __init__(self, url: str, *, connect_timeout: float = 5.0) -> None:
        self.url = url
        self._connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._channel: Any = None

    def queue_stats(self, queue: str) -> QueueStats:
        with self._lock:
            try:
                channel = self._open_channel()
                _, ready, consumers = channel.queue_declare(queue=queue, passive=True)
            except amqp.exceptions.NotFound:
                # the passive declare of a missing queue closes the channel (404)
                self._channel = None
                return QueueStats(queue=queue, ready=0, unacked=None, consumers=0)
            except Exception as exc:  # connection errors of amqp, socket, kombu
                self._reset()
                raise MetricsUnavailable(self.name, queue, f"{mask_url(self.url)}: {exc}") from exc
        return QueueStats(queue=queue, ready=int(ready), unacked=None, consumers=int(consumers))

    def _open_channel(self) -> Any:
        if self._connection is None:
            self._connection = Connection(self.url, connect_timeout=self._connect_timeout)
            self._connection.ensure_connection(max_retries=1)
        if self._channel is None:
            self._channel = self._connection.channel()
        return self._channel

    def _reset(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):  # already broken: closing is best effort
                connection.release()

    def close(self) -> None:
        with self._lock:
            self._reset()
