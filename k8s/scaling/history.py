"""The small, immutable memory that :func:`k8s.scaling.desired_replicas` carries forward.

Each :class:`k8s.scaling.Decision` returns the next :class:`History`; the autoscaler
loop keeps it per function and passes it back with the next observation. Holding it
outside the decision keeps the decision pure and lets tests script whole sequences.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["History", "Recommendation"]


class Recommendation(BaseModel):
    """A replica count recommended at time ``at`` (before stabilization)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: float
    replicas: int = Field(ge=0)


class History(BaseModel):
    """Recommendations still inside the stabilization window, and when idling began.

    ``idle_since`` is the time of the first observation of the current idle stretch
    (no backlog and no handler running), ``None`` while there is work.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    recommendations: tuple[Recommendation, ...] = ()
    idle_since: float | None = None

    def record(self, at: float, replicas: int, window: float) -> History:
        """Add a recommendation and forget those older than ``window`` seconds before ``at``."""
        kept = tuple(rec for rec in self.recommendations if rec.at >= at - window)
        return self.model_copy(
            update={"recommendations": (*kept, Recommendation(at=at, replicas=replicas))}
        )

    def highest(self) -> int:
        """The highest recommendation kept (0 when there is none)."""
        return max((rec.replicas for rec in self.recommendations), default=0)

    def with_idle(self, at: float, idle: bool) -> History:
        """Start, keep or end the idle stretch according to this observation."""
        if not idle:
            return self.model_copy(update={"idle_since": None})
        if self.idle_since is None:
            return self.model_copy(update={"idle_since": at})
        return self

    def idle_for(self, at: float) -> float:
        """Seconds the function has been idle at ``at`` (0 when it is not idle)."""
        return 0.0 if self.idle_since is None else at - self.idle_since
