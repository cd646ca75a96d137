"""The pure scaling decision: observation + policy + history -> :class:`Decision`.

Called by the autoscaler loop (both actuators: Kubernetes Deployments and local
worker processes) once per function per tick. No I/O and no clock: time comes in
``Observation.at`` and memory in :class:`k8s.scaling.History`, so tests can script
any sequence of observations.
"""

from __future__ import annotations

import math
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from k8s.scaling.history import History
from k8s.scaling.observation import Observation
from k8s.scaling.policy import ScalingPolicy

__all__ = ["Decision", "Limit", "Reason", "desired_replicas", "drain_replicas"]

#: Tolerance for float rounding before ``ceil`` (a computed 3.0000000001 means 3).
_EPSILON = 1e-9


class Reason(StrEnum):
    """What the decision does."""

    STEADY = "steady"
    ACTIVATE = "activate"  # from zero replicas to some
    SCALE_UP = "scale-up"
    SCALE_DOWN = "scale-down"
    SCALE_TO_ZERO = "scale-to-zero"


class Limit(StrEnum):
    """A rule that moved the replica count away from what the load alone asked for."""

    DRAIN_TIME = "drain-time"  # the drain-time target asked for more than the backlog target
    ACTIVATION = "activation"  # backlog at or below the activation threshold: stay at zero
    MIN_REPLICAS = "min-replicas"
    MAX_REPLICAS = "max-replicas"
    COOLDOWN = "cooldown"  # keep one replica until idle for the cooldown
    STABILIZATION = "stabilization"  # a higher recommendation is still inside the window
    SCALE_UP_STEP = "scale-up-step"  # capped at current + scale_up_max_step
    BUSY = "busy"  # busy replicas are never removed


class Decision(BaseModel):
    """The replica count to converge to, why, and which replicas may go.

    ``remove`` names exactly ``current - replicas`` idle replicas when scaling down
    (the last idle ones in observation order) and is empty otherwise; it never names
    a busy replica. ``recommended`` is what the load alone asked for (backlog and
    drain-time targets), before bounds and dampers. ``history`` is to be passed to
    the next call.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    replicas: int = Field(ge=0)
    current: int = Field(ge=0)
    recommended: int = Field(ge=0)
    reason: Reason
    limits: tuple[Limit, ...] = ()
    remove: tuple[str, ...] = ()
    history: History

    @property
    def changed(self) -> bool:
        return self.replicas != self.current


def drain_replicas(observation: Observation, drain_time_seconds: float) -> int | None:
    """Replicas needed to drain the backlog within ``drain_time_seconds``, or ``None``.

    With ``W`` the outstanding messages (``observation.work``), ``T`` the drain time,
    ``λ`` the arrival rate, ``μ`` the measured handling rate of the ``n`` current
    replicas (so ``μ/n`` per replica), ``N`` replicas drain the backlog in ``T``
    seconds while keeping up with arrivals when ``N·μ/n - λ >= W/T``, hence::

        N = ceil((W / T + λ) / (μ / n))

    ``None`` when there is nothing to measure from (no replica, or no handling rate).
    """
    rate = observation.handled_per_second
    if observation.current == 0 or not rate:
        return None
    per_replica = rate / observation.current
    needed = (observation.work / drain_time_seconds + observation.arrival_per_second) / per_replica
    return max(0, math.ceil(needed - _EPSILON))


def desired_replicas(
    observation: Observation, policy: ScalingPolicy, history: History | None = None
) -> Decision:
    """Decide how many replicas a function should run after ``observation``.

    In order:

    1. Load: ``ceil(work / target_backlog)`` where ``work`` counts ready and
       unacknowledged messages (see :attr:`Observation.work`); raised to the
       drain-time target when the policy sets one and rates are known.
    2. Activation: from zero replicas, stay at zero while ``work <= activation_backlog``.
    3. Bounds: clamp to ``[min_replicas, max_replicas]``.
    4. Cooldown: never go from some replicas to zero before the function has been idle
       (no backlog, no handler running) for ``cooldown_seconds``; keep one until then.
    5. Stabilization (scale-down only, as the HPA does): go down only to the highest
       recommendation of the last ``scale_down_stabilization_seconds``. Going to zero
       is governed by the cooldown alone, as in KEDA.
    6. Scale-up step: add at most ``scale_up_max_step`` replicas at once.
    7. Busy floor: never fewer replicas than busy ones, so a running handler is never
       stopped (this wins even over ``max_replicas`` if the policy was lowered).
    """
    history = history or History()
    at = observation.at
    current = observation.current
    work = observation.work
    limits: list[Limit] = []

    history = history.with_idle(at, idle=work == 0 and observation.in_flight == 0)

    # 1. load
    recommended = -(-work // policy.target_backlog)
    if policy.drain_time_seconds is not None:
        drain = drain_replicas(observation, policy.drain_time_seconds)
        if drain is not None and drain > recommended:
            recommended = drain
            limits.append(Limit.DRAIN_TIME)
    target = recommended

    # 2. activation
    if current == 0 and work <= policy.activation_backlog and target > 0:
        target = 0
        limits.append(Limit.ACTIVATION)

    # 3. bounds
    if target < policy.min_replicas:
        target = policy.min_replicas
        limits.append(Limit.MIN_REPLICAS)
    elif target > policy.max_replicas:
        target = policy.max_replicas
        limits.append(Limit.MAX_REPLICAS)

    # 4. cooldown before scaling to zero
    if target == 0 and current > 0 and history.idle_for(at) < policy.cooldown_seconds:
        target = 1
        limits.append(Limit.COOLDOWN)

    # 5. stabilization of scale-down
    history = history.record(at, target, policy.scale_down_stabilization_seconds)
    if 0 < target < current:
        stabilized = min(current, history.highest())
        if stabilized > target:
            target = stabilized
            limits.append(Limit.STABILIZATION)

    # 6. scale-up step
    if target > current + policy.scale_up_max_step:
        target = current + policy.scale_up_max_step
        limits.append(Limit.SCALE_UP_STEP)

    # 7. busy floor
    busy = len(observation.busy)
    if target < busy:
        target = busy
        limits.append(Limit.BUSY)

    remove: tuple[str, ...] = ()
    if target < current:
        idle_last_first = [replica.name for replica in reversed(observation.idle)]
        remove = tuple(idle_last_first[: current - target])

    return Decision(
        replicas=target,
        current=current,
        recommended=recommended,
        reason=_reason(current, target),
        limits=tuple(limits),
        remove=remove,
        history=history,
    )


def _reason(current: int, target: int) -> Reason:
    if target > current:
        return Reason.ACTIVATE if current == 0 else Reason.SCALE_UP
    if target < current:
        return Reason.SCALE_TO_ZERO if target == 0 else Reason.SCALE_DOWN
    return Reason.STEADY
