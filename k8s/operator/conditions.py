"""Status conditions of a Function: types and reasons as named constants, and how a
condition list is updated (``lastTransitionTime`` moves only when the status does).

Used by :mod:`k8s.operator.status` (pure).
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = [
    "READY",
    "REASON_APPLY_FAILED",
    "REASON_AT_DESIRED_REPLICAS",
    "REASON_DEPLOYED",
    "REASON_INVALID_SPEC",
    "REASON_NO_WORKLOAD",
    "REASON_SCALED_TO_ZERO",
    "REASON_SCALING_DOWN",
    "REASON_SCALING_UP",
    "REASON_WORKERS_STARTING",
    "SCALED",
    "ConditionStatus",
    "set_condition",
]

ConditionStatus = Literal["True", "False", "Unknown"]

#: The function can take events: its workload is applied and either some worker is
#: ready or it is scaled to zero (the autoscaler activates it on the first event).
READY = "Ready"
#: The Deployment runs the replica count it was last scaled to.
SCALED = "Scaled"

REASON_DEPLOYED = "Deployed"  # Ready=True
REASON_WORKERS_STARTING = "WorkersStarting"  # Ready=False: replicas wanted, none ready yet
REASON_INVALID_SPEC = "InvalidSpec"  # Ready=False: the spec cannot be rendered
REASON_APPLY_FAILED = "ApplyFailed"  # Ready=False: the API refused the workload
REASON_AT_DESIRED_REPLICAS = "AtDesiredReplicas"  # Scaled=True
REASON_SCALED_TO_ZERO = "ScaledToZero"  # Scaled=True, zero replicas
REASON_SCALING_UP = "ScalingUp"  # Scaled=False
REASON_SCALING_DOWN = "ScalingDown"  # Scaled=False
REASON_NO_WORKLOAD = "NoWorkload"  # Scaled=Unknown: no Deployment (yet)


def set_condition(
    conditions: list[dict[str, Any]],
    type_: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    *,
    generation: int,
    now: str,
) -> list[dict[str, Any]]:
    """``conditions`` with ``type_`` set; the transition time is kept when the status
    did not change (as Kubernetes conventions ask)."""
    previous = next((c for c in conditions if c.get("type") == type_), None)
    since = now
    if previous is not None and previous.get("status") == status:
        since = str(previous.get("lastTransitionTime") or now)
    updated = {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": since,
    }
    return [*(c for c in conditions if c.get("type") != type_), updated]
