"""eventfn on Kubernetes: scaling decisions, desired manifests, the operator, the manifests.

Public API::

    from k8s import FunctionSpec, ScalingPolicy, Observation, desired_replicas
    from k8s import RenderSettings, render_manifests, to_yaml

Pure parts: :mod:`k8s.scaling` (how many replicas, which may go) and :mod:`k8s.render`
(FunctionSpec -> Function/Subscription resources, Deployment, ScaledObject). Around
them: :mod:`k8s.metrics` (queue depth per broker), :mod:`k8s.autoscaler` (the control
loop, push activation), :mod:`k8s.actuators` (local processes, Deployments),
:mod:`k8s.operator` with :mod:`k8s.client` (Function resources -> workloads), and
:mod:`k8s.subscription_source` (the bridge's table from Subscription resources).
Ready-made assemblies: :class:`k8s.dev.autoscaling.LocalAutoscaling` (``eventfn dev``/
``autoscale``) and :class:`k8s.cluster.ClusterAutoscaling`. The kustomize base and
overlays, CRDs and Dockerfile live in ``k8s/manifests/``.
"""

from k8s.errors import (
    ApiClientError,
    ApiConflict,
    ApiError,
    ApiServerError,
    InvalidResource,
    K8sError,
    MetricsUnavailable,
)
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
    "ApiConflict",
    "ApiError",
    "ApiServerError",
    "Decision",
    "FunctionSpec",
    "History",
    "InvalidResource",
    "K8sError",
    "MetricsUnavailable",
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
