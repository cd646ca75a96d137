"""Everything rendered for a set of functions, in apply order.

``eventfn manifests`` calls :func:`render_manifests`; the operator calls
:func:`render_workload` for one Function resource it reconciles.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from k8s.model import FunctionSpec
from k8s.render.keda import scaled_object, trigger_authentication
from k8s.render.meta import Owner
from k8s.render.resources import function_resource, subscription_resources
from k8s.render.settings import RenderSettings
from k8s.render.workload import deployment, service_account

__all__ = ["render_custom_resources", "render_manifests", "render_workload"]


def render_custom_resources(spec: FunctionSpec, settings: RenderSettings) -> list[dict[str, Any]]:
    """The Function resource and its Subscription resources."""
    return [function_resource(spec, settings), *subscription_resources(spec, settings)]


def render_workload(
    spec: FunctionSpec, settings: RenderSettings, owner: Owner | None = None, *, keda: bool = False
) -> list[dict[str, Any]]:
    """ServiceAccount and Deployment of one function (and its ScaledObject with
    ``keda``), owned by ``owner``."""
    documents = [service_account(spec, settings, owner), deployment(spec, settings, owner)]
    if keda:
        documents.append(scaled_object(spec, settings, owner))
    return documents


def render_manifests(
    specs: Iterable[FunctionSpec],
    settings: RenderSettings | None = None,
    *,
    workloads: bool = False,
    keda: bool = False,
) -> list[dict[str, Any]]:
    """Every document for ``specs``: the Function and Subscription resources; with
    ``keda`` the TriggerAuthentication and a ScaledObject per function (for clusters
    that scale with KEDA); with ``workloads`` each function's ServiceAccount and
    Deployment too (for clusters without the operator, which renders them itself).
    Functions come out sorted by name, so output is stable."""
    settings = settings or RenderSettings()
    ordered = sorted(specs, key=lambda spec: spec.name)
    documents: list[dict[str, Any]] = []
    if keda and ordered:
        documents.append(trigger_authentication(settings))
    for spec in ordered:
        documents.extend(render_custom_resources(spec, settings))
        if workloads:
            documents.extend(render_workload(spec, settings))
        if keda:
            documents.append(scaled_object(spec, settings))
    return documents
