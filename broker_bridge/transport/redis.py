"""kombu's Redis transport with a crash-safe fetch.

kombu's Redis transport takes a message with ``BRPOP`` and only then, from the client,
writes it to the ``unacked`` hash that gives it back when its consumer dies. A consumer
killed between the two (its reply still in the socket buffer, or not yet written) loses
the message for good: celery/kombu#305, celery/celery#7950. eventfn's SIGKILL tests
lose about one event per kill that way.

This transport closes the window the way the Redis documentation's "reliable queue"
pattern does: the consumer takes a message with ``BLMOVE`` from the queue into its own
in-flight list, atomically on the server, then writes the ``unacked`` entry and removes
the in-flight copy in one ``MULTI``. Each consumer holds a lease key, refreshed while it
polls; any live consumer moves the in-flight lists of consumers whose lease has expired
back to their queues (a Lua script checks the lease and moves the items in one step). A
message is therefore always in the queue, in an in-flight list or in ``unacked``.

Everything else (publishing, acks, the visibility-timeout restore, fan-out) is kombu's.
The safe fetch applies when a channel consumes one queue with one priority step (what
eventfn's bridge and workers do; :func:`broker_bridge.connection.transport_options`
sets ``priority_steps=[0]``); other channels fall back to kombu's ``BRPOP``.
``basic_get`` (used by tools, not consumers) is kombu's.
"""

from __future__ import annotations

from queue import Empty
from time import monotonic, time
from typing import Any
from uuid import uuid4

import structlog
from kombu.transport import TRANSPORT_ALIASES, _transport_cache
from kombu.transport import redis as kombu_redis
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import dumps, loads

__all__ = ["INFLIGHT_REGISTRY", "Channel", "QoS", "Transport", "register"]

log = structlog.get_logger(__name__)

#: set of every consumer's in-flight list, so a sweep never has to SCAN the keyspace
INFLIGHT_REGISTRY = "eventfn.inflight"
_INFLIGHT = "eventfn.inflight:{token}:{queue}"
_LEASE = "eventfn.inflight-lease:{token}"
_ALIAS = "broker_bridge.transport.redis:Transport"

#: seconds a consumer's lease lives without a refresh; it is refreshed every third of it
LEASE_TTL = 15.0
#: seconds between two sweeps of dead consumers' in-flight lists by one channel
SWEEP_INTERVAL = 5.0

# KEYS: in-flight list, its lease, the registry, the queue. Moves the list back only
# when the lease is gone, so a live consumer's in-flight message is never taken.
_RESTORE_ORPHAN = """
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local n = 0
while redis.call('LMOVE', KEYS[1], KEYS[4], 'RIGHT', 'RIGHT') do n = n + 1 end
redis.call('SREM', KEYS[3], KEYS[1])
return n
"""


class QoS(kombu_redis.QoS):  # type: ignore[misc]
    """kombu's QoS; skips the ``unacked`` write the safe fetch has already made."""

    def append(self, message: Any, delivery_tag: str) -> None:
        staged: set[str] = self.channel._eventfn_staged
        if delivery_tag in staged:
            staged.discard(delivery_tag)
            kombu_redis.virtual.QoS.append(self, message, delivery_tag)
            return
        super().append(message, delivery_tag)


class Channel(kombu_redis.Channel):  # type: ignore[misc]
    """kombu's Redis channel whose consume path cannot lose a message to a crash."""

    QoS = QoS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._eventfn_token = uuid4().hex
        self._eventfn_staged: set[str] = set()
        self._eventfn_polling: tuple[str, str] | None = None  # (queue, in-flight key)
        self._eventfn_leased_at = 0.0
        self._eventfn_swept_at = 0.0
        self._eventfn_restore: Any = None
        super().__init__(*args, **kwargs)

    # -- the fetch ------------------------------------------------------------------
    def _brpop_start(self, timeout: float | None = None) -> None:
        queues = self._queue_cycle.consume(len(self.active_queues))
        if len(queues) != 1 or list(self.priority_steps) != [0] or self.global_keyprefix:
            self._eventfn_polling = None
            super()._brpop_start(timeout)
            return
        if timeout is None:
            timeout = self.brpop_timeout
        queue = queues[0]
        inflight = _INFLIGHT.format(token=self._eventfn_token, queue=queue)
        self._eventfn_housekeeping(inflight)
        self._in_poll = self.client.connection
        self._brpop_sent_at = monotonic()
        self._eventfn_polling = (queue, inflight)
        self.client.connection.send_command(
            "BLMOVE", queue, inflight, "RIGHT", "LEFT", timeout or 0
        )

    def _brpop_read(self, **options: Any) -> bool:
        polling, self._eventfn_polling = self._eventfn_polling, None
        if polling is None:
            return bool(super()._brpop_read(**options))
        queue, inflight = polling
        try:
            try:
                item = self.client.parse_response(self.client.connection, "BLMOVE", **options)
            except self.connection_errors:
                self.client.connection.disconnect()
                raise
            if not item:
                raise Empty()
            payload = loads(bytes_to_str(item))
            self._eventfn_stage(payload, item, inflight)
            self._queue_cycle.rotate(queue)
            self.connection._deliver(payload, queue)
            return True
        finally:
            self._in_poll = None
            flush = getattr(self, "_flush_brpop_reauth", None)  # kombu >= 5.6
            if flush is not None:
                flush()

    def _eventfn_stage(self, payload: dict[str, Any], item: bytes, inflight: str) -> None:
        """Move a fetched message from the in-flight list to ``unacked`` in one MULTI."""
        properties = payload.get("properties") or {}
        tag = properties.get("delivery_tag")
        delivery = properties.get("delivery_info") or {}
        with self.conn_or_acquire() as client:
            pipe = client.pipeline()
            if tag is not None:
                pipe.zadd(self.unacked_index_key, {tag: time()})
                pipe.hset(
                    self.unacked_key,
                    tag,
                    dumps([payload, delivery.get("exchange"), delivery.get("routing_key")]),
                )
            pipe.lrem(inflight, 1, item)
            pipe.execute()
        if tag is not None:
            self._eventfn_staged.add(tag)

    # -- leases and orphans -----------------------------------------------------------
    def _eventfn_housekeeping(self, inflight: str) -> None:
        now = monotonic()
        if now - self._eventfn_leased_at >= LEASE_TTL / 3:
            with self.conn_or_acquire() as client:
                pipe = client.pipeline()
                pipe.set(_LEASE.format(token=self._eventfn_token), 1, px=int(LEASE_TTL * 1000))
                pipe.sadd(INFLIGHT_REGISTRY, inflight)
                pipe.execute()
            self._eventfn_leased_at = now
        if now - self._eventfn_swept_at >= SWEEP_INTERVAL:
            self._eventfn_swept_at = now
            self.restore_orphans()

    def restore_orphans(self) -> int:
        """Give dead consumers' in-flight messages back to their queues; return how many."""
        moved = 0
        with self.conn_or_acquire() as client:
            if self._eventfn_restore is None:
                self._eventfn_restore = client.register_script(_RESTORE_ORPHAN)
            for raw in client.smembers(INFLIGHT_REGISTRY):
                key = bytes_to_str(raw)
                try:
                    _, token, queue = key.split(":", 2)
                except ValueError:
                    client.srem(INFLIGHT_REGISTRY, raw)
                    continue
                if token == self._eventfn_token:
                    continue
                lease = _LEASE.format(token=token)
                count = self._eventfn_restore(
                    keys=[key, lease, INFLIGHT_REGISTRY, queue], client=client
                )
                if count and int(count) > 0:
                    moved += int(count)
        return moved

    def close(self) -> None:
        # a clean close leaves nothing in flight: let the lease go so nobody waits for it
        if not self.closed:
            try:
                with self.conn_or_acquire() as client:
                    client.delete(_LEASE.format(token=self._eventfn_token))
            except Exception as exc:  # closing on a dead connection must not raise
                log.debug("lease not released; it expires on its own", error=str(exc))
        super().close()


class Transport(kombu_redis.Transport):  # type: ignore[misc]
    """kombu's Redis transport with :class:`Channel`."""

    Channel = Channel


def register() -> None:
    """Make ``redis://`` and ``rediss://`` URLs use this transport in this process."""
    for scheme in ("redis", "rediss"):
        if TRANSPORT_ALIASES.get(scheme) != _ALIAS:  # once per process: keep kombu's cache
            TRANSPORT_ALIASES[scheme] = _ALIAS
            _transport_cache.pop(scheme, None)
