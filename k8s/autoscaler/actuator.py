"""The actuator interface: what the autoscaler loop needs from "the world".

Implemented in :mod:`k8s.actuators` (which imports this module, never the reverse):
:class:`k8s.actuators.LocalProcessActuator` (``eventfn worker`` subprocesses, embedded
mode) and :class:`k8s.actuators.KubernetesActuator` (Deployments' scale subresource).
"""

from __future__ import annotations

from typing import Protocol

from k8s.autoscaler.target import ScaledFunction
from k8s.scaling import Decision, ReplicaState

__all__ = ["Actuator"]


class Actuator(Protocol):
    """Observes and changes the replicas of functions. Called from the loop's thread."""

    #: Whether :meth:`observe` reports each replica's in-flight messages (``True`` for
    #: local processes). When ``False`` the loop attributes the queue's unacknowledged
    #: messages to the replicas conservatively.
    reports_in_flight: bool

    def observe(self, function: ScaledFunction) -> tuple[ReplicaState, ...]:
        """The function's running replicas now (replicas being stopped excluded)."""
        ...

    def apply(self, function: ScaledFunction, decision: Decision) -> None:
        """Converge to ``decision.replicas``, removing the replicas ``decision.remove``
        names first (they are idle); never blocks for a replica's shutdown."""
        ...

    def forget(self, function: str) -> None:
        """The function is no longer scaled here: stop tracking (and stop local replicas)."""
        ...

    def close(self) -> None:
        """Stop everything this actuator started (gracefully) and release resources."""
        ...
