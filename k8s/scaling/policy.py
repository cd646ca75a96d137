"""How one function scales: the knobs of :func:`k8s.scaling.desired_replicas`.

The same :class:`ScalingPolicy` is a field of :class:`k8s.model.FunctionSpec`, is written
into the ``scaling`` block of a Function resource (camelCase aliases), drives eventfn's own
autoscaler loop, and is mapped onto KEDA's ScaledObject by :mod:`k8s.render.keda`.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

__all__ = ["ScalingPolicy"]


class ScalingPolicy(BaseModel):
    """Scaling bounds and dampers for one function (all times in seconds).

    * ``min_replicas``/``max_replicas``: hard bounds; ``min_replicas=0`` allows scale to zero.
    * ``target_backlog``: messages (ready + unacknowledged) one replica should carry.
    * ``activation_backlog``: from zero replicas, scale up only once the backlog is
      *above* this (KEDA's ``activationValue``); ``0`` means the first message activates.
    * ``cooldown_seconds``: how long a function must have been idle (no backlog, no
      handler running) before it may go from one replica to zero.
    * ``scale_down_stabilization_seconds``: scale down to the highest recommendation seen
      in this window (the HPA's ``stabilizationWindowSeconds``), which stops flapping.
    * ``scale_up_max_step``: at most this many replicas are added by one decision.
    * ``drain_time_seconds``: optionally, also keep enough replicas to drain the backlog
      within this many seconds at the measured handling rate (see ``desired_replicas``).
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )

    min_replicas: int = Field(default=0, ge=0, le=1000)
    max_replicas: int = Field(default=10, ge=1, le=1000)
    target_backlog: int = Field(default=10, ge=1)
    activation_backlog: int = Field(default=0, ge=0)
    cooldown_seconds: int = Field(default=300, ge=0)
    scale_down_stabilization_seconds: int = Field(default=60, ge=0, le=3600)
    scale_up_max_step: int = Field(default=4, ge=1)
    drain_time_seconds: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"minReplicas ({self.min_replicas}) is above maxReplicas ({self.max_replicas})"
            )
        return self
