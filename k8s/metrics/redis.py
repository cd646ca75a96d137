"""Queue depth of kombu's Redis transport, read straight from Redis.

Key layout (``kombu/transport/redis.py``): a queue is a list under its own name, plus
one list per priority step above 0 named ``<queue>\\x06\\x16<step>`` (steps 3, 6, 9);
``ready`` is the sum of their ``LLEN``. Messages delivered and not acknowledged sit in
the ``unacked`` hash (delivery tag -> JSON ``[message, exchange, routing_key]``,
indexed by time in the ``unacked_index`` zset) until acked or restored after the
visibility timeout; ``unacked`` counts the entries whose routing key is our queue
(eventfn publishes through the default exchange, routing key = queue name). What it
cannot see: consumers (Redis has no such notion). Cost: the hash is scanned once per
read, O(unacknowledged messages of every queue).
"""

from __future__ import annotations

import json
import threading

import redis

from broker_bridge.connection import mask_url
from k8s.errors import MetricsUnavailable
from k8s.metrics.stats import QueueStats

__all__ = ["PRIORITY_SEPARATOR", "PRIORITY_STEPS", "RedisQueueStats", "priority_keys"]

#: kombu's ``Channel.sep`` and ``PRIORITY_STEPS``.
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (0, 3, 6, 9)
_UNACKED = "unacked"


def priority_keys(queue: str, prefix: str = "") -> list[str]:
    """The list keys holding ``queue``'s ready messages, one per priority step."""
    return [
        f"{prefix}{queue}" if step == 0 else f"{prefix}{queue}{PRIORITY_SEPARATOR}{step}"
        for step in PRIORITY_STEPS
    ]


class RedisQueueStats:
    """Reads one kombu-on-Redis broker (``redis://host:port/db``)."""

    name = "redis"
    sees_unacked = True

    def __init__(self, url: str, *, key_prefix: str = "", timeout: float = 5.0) -> None:
        self.url = url
        self._prefix = key_prefix
        self._lock = threading.Lock()
        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )

    def queue_stats(self, queue: str) -> QueueStats:
        with self._lock:
            try:
                pipe = self._client.pipeline(transaction=False)
                for key in priority_keys(queue, self._prefix):
                    pipe.llen(key)
                ready = sum(int(size) for size in pipe.execute())
                unacked = 0
                for _tag, raw in self._client.hscan_iter(f"{self._prefix}{_UNACKED}", count=500):
                    if _routing_key(raw) == queue:
                        unacked += 1
            except redis.RedisError as exc:
                raise MetricsUnavailable(self.name, queue, f"{mask_url(self.url)}: {exc}") from exc
        return QueueStats(queue=queue, ready=ready, unacked=unacked, consumers=None)

    def close(self) -> None:
        with self._lock:
            self._client.close()


def _routing_key(raw: bytes | str) -> str | None:
    try:
        entry = json.loads(raw)
        return str(entry[2])
    except (ValueError, TypeError, IndexError, KeyError):
        return None
