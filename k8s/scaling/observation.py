"""What the autoscaler saw of one function at one instant.

Built by the autoscaler loop from the broker's queue statistics and the workers'
reports (Kubernetes pods or local processes), then handed to
:func:`k8s.scaling.desired_replicas`. Time is passed in explicitly as ``at`` (seconds on
any monotonic clock, the same one for a function's whole history): pure code reads no clock.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Observation", "ReplicaState"]


class ReplicaState(BaseModel):
    """One running replica (a pod or a local worker process) and the work it holds.

    ``in_flight`` counts the messages this replica holds unacknowledged: handlers
    running, plus any prefetched message it will run next. A replica with
    ``in_flight > 0`` is *busy* and is never chosen for removal.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    in_flight: int = Field(default=0, ge=0)

    @property
    def busy(self) -> bool:
        return self.in_flight > 0


class Observation(BaseModel):
    """Queue depth and replica states of one function at time ``at``.

    ``ready`` and ``unacked`` are the broker's counts for the function queue;
    ``handled_per_second`` is the measured completion rate over all current replicas
    and ``arrival_per_second`` the publish rate into the queue (both optional, only
    the drain-time target uses them).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: float
    ready: int = Field(default=0, ge=0)
    unacked: int = Field(default=0, ge=0)
    replicas: tuple[ReplicaState, ...] = ()
    handled_per_second: float | None = Field(default=None, ge=0)
    arrival_per_second: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        names = [replica.name for replica in self.replicas]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"replica names must be unique, repeated: {duplicates}")
        return self

    @property
    def current(self) -> int:
        """How many replicas run now."""
        return len(self.replicas)

    @property
    def in_flight(self) -> int:
        """Messages held by the replicas (running or about to run)."""
        return sum(replica.in_flight for replica in self.replicas)

    @property
    def busy(self) -> tuple[ReplicaState, ...]:
        return tuple(replica for replica in self.replicas if replica.busy)

    @property
    def idle(self) -> tuple[ReplicaState, ...]:
        return tuple(replica for replica in self.replicas if not replica.busy)

    @property
    def work(self) -> int:
        """Outstanding messages: ``ready + max(unacked, in_flight)``.

        A running handler holds an unacknowledged message, so ``unacked`` and
        ``in_flight`` count the same messages; taking the larger one avoids counting
        them twice while tolerating a broker that does not report ``unacked`` (the
        embedded broker) or replicas that do not report ``in_flight``.
        """
        return self.ready + max(self.unacked, self.in_flight)
