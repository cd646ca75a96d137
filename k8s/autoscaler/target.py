"""What the autoscaler scales: a function's name, queue, policy and stop grace.

Built from a :class:`k8s.model.FunctionSpec` (the operator, ``eventfn manifests``) or
from the worker registry's spec (``eventfn autoscale``/``dev``, see
:func:`k8s.registry.scaled_function`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from broker_bridge import topology
from broker_bridge.errors import ConfigurationError
from k8s.model import FunctionSpec
from k8s.scaling import ScalingPolicy

__all__ = ["ScaledFunction"]


class ScaledFunction(BaseModel):
    """One function under the autoscaler's control.

    ``grace_seconds``: how long a stopping replica may take to finish its handler
    (the function's timeout plus its drain time) before it is killed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    policy: ScalingPolicy = Field(default_factory=ScalingPolicy)
    grace_seconds: float = Field(default=60.0, gt=0)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        try:
            return topology.validate_function_name(value)
        except ConfigurationError as exc:
            raise ValueError(str(exc)) from exc

    @property
    def queue(self) -> str:
        return topology.function_queue_name(self.name)

    @classmethod
    def from_spec(cls, spec: FunctionSpec) -> ScaledFunction:
        return cls(
            name=spec.name, policy=spec.scaling, grace_seconds=spec.termination_grace_seconds
        )
