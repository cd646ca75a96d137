"""What to do for one Function resource (pure): the objects to apply, the stale ones
to remove, or why nothing can be applied.

Called by :class:`k8s.operator.Operator` for each reconcile; no I/O, so every case
(valid, invalid, KEDA on/off, owned or foreign leftovers) is unit-tested directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from k8s.errors import InvalidResource
from k8s.model import FunctionSpec
from k8s.render import Owner, RenderSettings, render_workload, spec_from_resource

__all__ = ["FINALIZER", "Plan", "is_owned_by", "plan_function", "workload_names"]

#: Held on every Function the operator manages, removed once its cleanup is done.
FINALIZER = "eventfn.io/cleanup"


class Plan(BaseModel):
    """``apply``: documents to server-side apply, in order. ``remove_stale_scaled_object``:
    a ScaledObject owned by this Function must go (KEDA mode is off). ``problem``: why
    the Function cannot be rendered (then nothing is applied)."""

    model_config = ConfigDict(frozen=True)

    spec: FunctionSpec | None = None
    apply: tuple[dict[str, Any], ...] = ()
    remove_stale_scaled_object: bool = False
    problem: str | None = None


def owner_of(resource: Mapping[str, Any]) -> Owner:
    meta = resource["metadata"]
    return Owner(name=meta["name"], uid=meta["uid"])


def plan_function(resource: Mapping[str, Any], settings: RenderSettings, *, keda: bool) -> Plan:
    """The workload of ``resource`` (ServiceAccount, Deployment, and a ScaledObject in
    KEDA mode), owned by it, in its namespace."""
    namespace = resource["metadata"].get("namespace") or settings.namespace
    local = settings.model_copy(update={"namespace": namespace})
    try:
        spec = spec_from_resource(resource)
    except InvalidResource as exc:
        return Plan(problem=exc.problems)
    documents = render_workload(spec, local, owner_of(resource), keda=keda)
    return Plan(spec=spec, apply=tuple(documents), remove_stale_scaled_object=not keda)


def is_owned_by(obj: Mapping[str, Any] | None, resource: Mapping[str, Any]) -> bool:
    """Whether ``obj`` names ``resource`` (by uid) as its controller owner."""
    if obj is None:
        return False
    uid = resource["metadata"].get("uid")
    return any(
        ref.get("uid") == uid and ref.get("controller")
        for ref in (obj.get("metadata") or {}).get("ownerReferences") or []
    )


def workload_names(resource: Mapping[str, Any]) -> str:
    """Every object of a Function's workload is named after the function."""
    return str(resource["metadata"]["name"])
