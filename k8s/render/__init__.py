"""Desired manifests from a :class:`k8s.model.FunctionSpec`, as plain dicts (pure).

Public API::

    from k8s.render import RenderSettings, render_manifests, to_yaml
    print(to_yaml(render_manifests(specs, RenderSettings(namespace="eventfn"))))

Called by ``eventfn manifests`` and by the operator's reconcile step.
"""

from k8s.render.documents import render_custom_resources, render_manifests, render_workload
from k8s.render.keda import scaled_object, trigger_authentication
from k8s.render.meta import API_VERSION, FUNCTION_LABEL, GROUP, VERSION, Owner
from k8s.render.resources import function_resource, spec_from_resource, subscription_resources
from k8s.render.serialize import from_yaml, to_yaml
from k8s.render.settings import RenderSettings
from k8s.render.workload import deployment, service_account

__all__ = [
    "API_VERSION",
    "FUNCTION_LABEL",
    "GROUP",
    "VERSION",
    "Owner",
    "RenderSettings",
    "deployment",
    "from_yaml",
    "function_resource",
    "render_custom_resources",
    "render_manifests",
    "render_workload",
    "scaled_object",
    "service_account",
    "spec_from_resource",
    "subscription_resources",
    "to_yaml",
    "trigger_authentication",
]
