"""What a metrics source reports about one queue, and the interface every source offers.

The autoscaler loop (:class:`k8s.autoscaler.Autoscaler`) asks a :class:`MetricsSource`
for each function queue's :class:`QueueStats` once per tick and turns them into a
:class:`k8s.scaling.Observation`. Sources differ in what they can see (see
``docs/autoscaling.md``): ``unacked`` is ``None`` when a source cannot count
unacknowledged messages, in which case the workers' own in-flight reports stand in.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MetricsSource", "QueueStats"]


class QueueStats(BaseModel):
    """Counts of one queue at one instant.

    ``ready``: messages waiting for a consumer. ``unacked``: messages delivered to a
    consumer and not yet acknowledged (running handlers under ``acks_late``, plus
    prefetched ones), ``None`` when the source cannot see them. ``consumers``: how
    many consumers the broker knows of, ``None`` when unknown.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    queue: str
    ready: int = Field(default=0, ge=0)
    unacked: int | None = Field(default=None, ge=0)
    consumers: int | None = Field(default=None, ge=0)

    @property
    def work(self) -> int:
        """Ready plus unacknowledged messages (what is known of them)."""
        return self.ready + (self.unacked or 0)


class MetricsSource(Protocol):
    """Reads queue statistics from one broker. Not thread-safe: one loop owns it."""

    #: A short name for logs and errors ("rabbitmq-amqp", "rabbitmq-management", ...).
    name: str
    #: Whether :attr:`QueueStats.unacked` is counted (``False``: always ``None``).
    sees_unacked: bool

    def queue_stats(self, queue: str) -> QueueStats:
        """The queue's counts now; a queue that does not exist yet has all zero.

        Raises :class:`k8s.errors.MetricsUnavailable` when the broker cannot be read.
        """
        ...

    def close(self) -> None:
        """Release connections (idempotent)."""
        ...
