"""Publishing the bridge's output with pipelined publisher confirms.

A thin adapter from :class:`~broker_bridge.bridge.decision.Outgoing` to
:class:`broker_bridge.confirms.ConfirmingPublisher`: every message of a batch is
published without waiting, then :meth:`Outbox.wait` reads the broker's confirms
once for the whole batch (RabbitMQ) or returns at once (Redis and the embedded
broker, whose publish is a synchronous write). The bridge acks its inputs only
after ``wait`` returned.
"""

from __future__ import annotations

from kombu import Queue

from broker_bridge import topology
from broker_bridge.bridge.decision import Outgoing
from broker_bridge.config import Settings
from broker_bridge.confirms import ConfirmingPublisher, confirming_connection
from broker_bridge.limits import MessageLimits

__all__ = ["Outbox"]


class Outbox:
    """Publishes :class:`Outgoing` messages; :meth:`wait` returns once all are confirmed."""

    def __init__(self, settings: Settings, *, timeout: float, window: int = 1000) -> None:
        self._conn = confirming_connection(settings)
        self._conn.ensure_connection(max_retries=1, timeout=settings.connect_timeout)
        limits = MessageLimits(settings.broker_frame_max, settings.broker_max_message)
        self._publisher = ConfirmingPublisher(
            self._conn, timeout=timeout, window=window, limits=limits
        )
        self._queues: dict[str, Queue] = {}

    @property
    def limits(self) -> MessageLimits:
        """The connection's limits (its negotiated frame_max on RabbitMQ)."""
        return self._publisher.limits

    def publish(self, out: Outgoing) -> int:
        """Publish without waiting; the message's position in the current batch."""
        queue = self._queues.get(out.queue)
        if queue is None:
            queue = self._queues[out.queue] = topology.queue(out.queue)
        return self._publisher.publish(
            out.body,
            out.queue,
            headers=out.headers,
            content_type=out.content_type,
            content_encoding=out.content_encoding,
            properties=out.properties,
            declare=queue,
        )

    def poll(self) -> None:
        """Read heartbeats and flow-control frames; tick the heartbeat (raises when dead)."""
        self._publisher.poll()

    def wait(self) -> int:
        """Block until the broker confirmed every publish since the last wait.

        Raises :class:`~broker_bridge.confirms.UnconfirmedPublish` when any was not.
        """
        return self._publisher.wait()

    def close(self) -> None:
        self._publisher.close()
        self._conn.release()
