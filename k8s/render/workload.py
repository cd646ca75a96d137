"""A function's workload: its ServiceAccount and its worker Deployment.

Rendered by the operator for each Function resource (with the Function as owner) and
by ``eventfn manifests`` for clusters without the operator. Security and probe settings
here mirror those of eventfn's own Deployments in ``k8s/manifests/base``.
"""

from __future__ import annotations

from typing import Any

from k8s.model import FunctionSpec
from k8s.render.meta import Owner, labels, object_meta, selector_labels
from k8s.render.settings import RenderSettings

__all__ = [
    "CONTAINER_SECURITY_CONTEXT",
    "POD_SECURITY_CONTEXT",
    "RUN_AS_USER",
    "deployment",
    "service_account",
]

#: The non-root user of the image (``k8s/manifests/Dockerfile``).
RUN_AS_USER = 10001
#: Pod-level settings of the "restricted" Pod Security Standard.
POD_SECURITY_CONTEXT: dict[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": RUN_AS_USER,
    "runAsGroup": RUN_AS_USER,
    "fsGroup": RUN_AS_USER,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY_CONTEXT: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def service_account(
    spec: FunctionSpec, settings: RenderSettings, owner: Owner | None = None
) -> dict[str, Any]:
    """A ServiceAccount of its own per function, with no API token mounted (workers
    never call the Kubernetes API; the account exists to hang cloud IAM bindings on)."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": object_meta(spec.name, settings.namespace, labels(spec.name), owner),
        "automountServiceAccountToken": False,
    }


def _env(spec: FunctionSpec, settings: RenderSettings) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {
            "name": "EVENTFN_BROKER_URL",
            "valueFrom": {
                "secretKeyRef": {"name": settings.broker_secret, "key": settings.broker_url_key}
            },
        }
    ]
    if settings.health_port is not None:
        env.append({"name": "EVENTFN_HEALTH_PORT", "value": str(settings.health_port)})
    env.extend({"name": key, "value": value} for key, value in sorted(spec.env.items()))
    return env


def _probes(settings: RenderSettings) -> dict[str, Any]:
    if settings.health_port is None:
        return {}
    check = {"httpGet": {"path": "/healthz", "port": "health"}}
    ready = {"httpGet": {"path": "/readyz", "port": "health"}}
    return {
        "ports": [{"name": "health", "containerPort": settings.health_port, "protocol": "TCP"}],
        "livenessProbe": {**check, "periodSeconds": 20, "timeoutSeconds": 5, "failureThreshold": 3},
        "readinessProbe": {**ready, "periodSeconds": 10, "timeoutSeconds": 5},
        "startupProbe": {**check, "periodSeconds": 2, "failureThreshold": 30},
    }


def deployment(
    spec: FunctionSpec, settings: RenderSettings, owner: Owner | None = None
) -> dict[str, Any]:
    """The worker Deployment running ``eventfn worker <name>``.

    ``spec.replicas`` is left out on purpose: KEDA (or eventfn's autoscaler) owns the
    replica count, and re-applying the Deployment must not reset it.
    ``terminationGracePeriodSeconds`` is the function timeout plus its drain time.
    """
    args = ["worker", spec.name]
    if spec.functions_module:
        args += ["--functions", spec.functions_module]
    container: dict[str, Any] = {
        "name": "worker",
        "image": spec.image,
        "imagePullPolicy": settings.image_pull_policy,
        "args": args,
        "env": _env(spec, settings),
        "resources": spec.resources.model_dump(),
        "securityContext": CONTAINER_SECURITY_CONTEXT,
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - an emptyDir
        **_probes(settings),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": object_meta(spec.name, settings.namespace, labels(spec.name), owner),
        "spec": {
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": selector_labels(spec.name)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": {
                "metadata": {
                    "labels": labels(spec.name),
                    "annotations": {"kubectl.kubernetes.io/default-container": "worker"},
                },
                "spec": {
                    "serviceAccountName": spec.name,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,  # <SVC>_PORT vars collide with EVENTFN_*
                    "terminationGracePeriodSeconds": spec.termination_grace_seconds,
                    "securityContext": POD_SECURITY_CONTEXT,
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }
