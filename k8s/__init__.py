"""eventfn on Kubernetes: scaling decisions, desired manifests, the operator, the manifests.

Public API::

    from k8s import FunctionSpec, ScalingPolicy, Observation, desired_replicas
    from k8s import RenderSettings, render_manifests, to_yaml

Pure parts: :mod:`k8s.scaling` (how many replicas, which may go) and :mod:`k8s.render`
(FunctionSpec -> Function/Subscription resources, Deployment, ScaledObject). The
kustomize base and overlays, CRDs and Dockerfile live in ``k8s/manifests/``.
"""

from k8s.errors import ApiClientError, ApiError, ApiServerError, InvalidResource, K8sError
from k8s.model import FunctionSpec, Resources
from k8s.render import RenderSettings, render_manifests, render_workload, to_yaml
from k8s.scaling import (
    Decision,
    History,
    Observation,
    ReplicaState,
    ScalingPolicy,
    desired_replicas,
)

__all__ = [
    "ApiClientError",
    "ApiError",
    "ApiServerError",
    "Decision",
    "FunctionSpec",
    "History",
    "InvalidResource",
    "K8sError",
    "Observation",
    "RenderSettings",
    "ReplicaState",
    "Resources",
    "ScalingPolicy",
    "desired_replicas",
    "render_manifests",
    "render_workload",
    "to_yaml",
]
