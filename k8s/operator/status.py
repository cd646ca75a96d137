"""A Function's ``.status`` from what the operator saw (pure).

Inputs: the Function, its Deployment as read back (or ``None``), the autoscaler's last
observation of its queue (backlog), and the problem that stopped the reconcile if any.
Called by :class:`k8s.operator.Operator`, which writes the result to the status
subresource when it differs from what is there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from broker_bridge import topology
from k8s.operator.conditions import (
    READY,
    REASON_APPLY_FAILED,
    REASON_AT_DESIRED_REPLICAS,
    REASON_DEPLOYED,
    REASON_INVALID_SPEC,
    REASON_NO_WORKLOAD,
    REASON_SCALED_TO_ZERO,
    REASON_SCALING_DOWN,
    REASON_SCALING_UP,
    REASON_WORKERS_STARTING,
    SCALED,
    ConditionStatus,
    set_condition,
)

__all__ = ["function_status", "same_status"]


def function_status(
    resource: Mapping[str, Any],
    deployment: Mapping[str, Any] | None,
    *,
    now: str,
    backlog: int | None = None,
    invalid: str | None = None,
    apply_failed: str | None = None,
) -> dict[str, Any]:
    meta = resource["metadata"]
    generation = int(meta.get("generation") or 0)
    previous: dict[str, Any] = dict(resource.get("status") or {})
    conditions: list[dict[str, Any]] = list(previous.get("conditions") or [])
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "queue": topology.function_queue_name(meta["name"]),
    }
    desired = int(((deployment or {}).get("spec") or {}).get("replicas") or 0)
    observed = (deployment or {}).get("status") or {}
    replicas = int(observed.get("replicas") or 0)
    ready = int(observed.get("readyReplicas") or 0)
    if deployment is not None:
        status.update(replicas=replicas, readyReplicas=ready, desiredReplicas=desired)
    if backlog is not None:
        status["backlog"] = backlog

    present = deployment is not None
    for type_, (value, reason, message) in (
        (READY, _ready(invalid, apply_failed, present, desired, ready)),
        (SCALED, _scaled(present, desired, replicas, ready)),
    ):
        conditions = set_condition(
            conditions, type_, value, reason, message, generation=generation, now=now
        )
    status["conditions"] = conditions
    return status


_Condition = tuple[ConditionStatus, str, str]


def _ready(
    invalid: str | None, apply_failed: str | None, present: bool, desired: int, ready: int
) -> _Condition:
    if invalid is not None:
        return "False", REASON_INVALID_SPEC, invalid
    if apply_failed is not None:
        return "False", REASON_APPLY_FAILED, apply_failed
    if not present:
        return "False", REASON_WORKERS_STARTING, "the Deployment is not there yet"
    if desired == 0:
        return "True", REASON_DEPLOYED, "scaled to zero; the first event activates it"
    if ready > 0:
        return "True", REASON_DEPLOYED, f"{ready} of {desired} workers ready"
    return "False", REASON_WORKERS_STARTING, f"0 of {desired} workers ready"


def _scaled(present: bool, desired: int, replicas: int, ready: int) -> _Condition:
    if not present:
        return "Unknown", REASON_NO_WORKLOAD, "no Deployment to scale"
    if ready < desired:
        return "False", REASON_SCALING_UP, f"{ready} of {desired} replicas ready"
    if replicas > desired:
        return "False", REASON_SCALING_DOWN, f"{replicas} replicas, scaling to {desired}"
    if desired == 0:
        return "True", REASON_SCALED_TO_ZERO, "no replica runs"
    return "True", REASON_AT_DESIRED_REPLICAS, f"{desired} replicas ready"


def same_status(current: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> bool:
    """Whether writing ``wanted`` would change nothing (transition times aside)."""
    return _comparable(current or {}) == _comparable(wanted)


def _comparable(status: Mapping[str, Any]) -> dict[str, Any]:
    out = {key: value for key, value in status.items() if key != "conditions"}
    out["conditions"] = sorted(
        (
            tuple(sorted((k, str(v)) for k, v in c.items() if k != "lastTransitionTime"))
            for c in status.get("conditions") or []
        ),
    )
    return out
