"""The Kubernetes actuator: a function's replicas are its Deployment's ``spec.replicas``.

Reads and writes the ``apps/v1`` scale subresource through :class:`DeploymentScaler`
(the official ``kubernetes`` client). Pods cannot report which one runs a handler, so
replicas are anonymous (``<function>-<index>``) and the loop attributes the queue's
unacknowledged messages to them conservatively (see
:func:`k8s.autoscaler.observe.attribute_unacked`); which pod goes on a scale-down is
the ReplicaSet's choice, and a running handler is protected by the worker's warm
shutdown within ``terminationGracePeriodSeconds`` (timeout + drain).
"""

from __future__ import annotations

import structlog

from k8s.actuators.deployment import DeploymentScaler
from k8s.autoscaler.target import ScaledFunction
from k8s.errors import ApiClientError
from k8s.scaling import Decision, ReplicaState

__all__ = ["KubernetesActuator"]

log = structlog.get_logger("eventfn.autoscaler.kubernetes")


class KubernetesActuator:
    """Scales each function's Deployment (same name, in the scaler's namespace)."""

    reports_in_flight = False

    def __init__(self, scaler: DeploymentScaler) -> None:
        self.scaler = scaler

    def observe(self, function: ScaledFunction) -> tuple[ReplicaState, ...]:
        """Replicas per the Deployment's scale; raises ``ApiError`` (the loop skips the
        function this tick: a Deployment not created yet is a 404 ``ApiClientError``)."""
        count = self.scaler.replicas(function.name)
        return tuple(ReplicaState(name=f"{function.name}-{index}") for index in range(count))

    def apply(self, function: ScaledFunction, decision: Decision) -> None:
        try:
            self.scaler.scale(function.name, decision.replicas)
        except ApiClientError as exc:
            log.warning("cannot scale deployment", function=function.name, error=str(exc))
            raise

    def forget(self, function: str) -> None:
        """Nothing held per function: the Deployment goes with its Function resource."""

    def close(self) -> None:
        """The API client belongs to the caller."""
