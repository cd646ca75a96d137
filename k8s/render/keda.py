"""KEDA resources: a ScaledObject per function and the namespace's TriggerAuthentication.

Maps :class:`k8s.scaling.ScalingPolicy` onto KEDA's ``keda.sh/v1alpha1`` API for clusters
that scale with KEDA rather than with eventfn's own autoscaler loop. What maps:
``min/max_replicas`` -> ``min/maxReplicaCount``; ``target_backlog`` -> the rabbitmq
trigger's ``value`` in ``QueueLength`` mode; ``activation_backlog`` -> ``activationValue``;
``cooldown_seconds`` -> ``cooldownPeriod``; ``scale_down_stabilization_seconds`` and
``scale_up_max_step`` -> the HPA ``behavior``. What does not: the drain-time target and
work-aware scale-down (the HPA picks which pods go), which only eventfn's loop does.
"""

from __future__ import annotations

from typing import Any

from k8s.model import FunctionSpec
from k8s.render.meta import KEDA_API_VERSION, Owner, labels, object_meta
from k8s.render.settings import RenderSettings

__all__ = ["scaled_object", "trigger_authentication"]

#: How often the HPA may apply a scale-up or scale-down step.
_PERIOD_SECONDS = 15


def scaled_object(
    spec: FunctionSpec, settings: RenderSettings, owner: Owner | None = None
) -> dict[str, Any]:
    """The ScaledObject scaling ``spec``'s Deployment on its queue's length.

    The trigger uses the management (HTTP) protocol, the only one for which KEDA's
    ``QueueLength`` counts unacknowledged messages as well as ready ones, so a
    function with a handler running is never seen as idle.
    """
    policy = spec.scaling
    return {
        "apiVersion": KEDA_API_VERSION,
        "kind": "ScaledObject",
        "metadata": object_meta(spec.name, settings.namespace, labels(spec.name), owner),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.name},
            "pollingInterval": settings.polling_interval_seconds,
            "cooldownPeriod": policy.cooldown_seconds,
            "minReplicaCount": policy.min_replicas,
            "maxReplicaCount": policy.max_replicas,
            "advanced": {
                "horizontalPodAutoscalerConfig": {
                    "behavior": {
                        "scaleDown": {
                            "stabilizationWindowSeconds": policy.scale_down_stabilization_seconds,
                            "selectPolicy": "Max",
                            "policies": [
                                {"type": "Percent", "value": 100, "periodSeconds": _PERIOD_SECONDS}
                            ],
                        },
                        "scaleUp": {
                            "stabilizationWindowSeconds": 0,
                            "selectPolicy": "Max",
                            "policies": [
                                {
                                    "type": "Pods",
                                    "value": policy.scale_up_max_step,
                                    "periodSeconds": _PERIOD_SECONDS,
                                }
                            ],
                        },
                    }
                }
            },
            "triggers": [
                {
                    "type": "rabbitmq",
                    "metadata": {
                        "protocol": "http",
                        "queueName": spec.queue,
                        "mode": "QueueLength",
                        "value": str(policy.target_backlog),
                        "activationValue": str(policy.activation_backlog),
                    },
                    "authenticationRef": {"name": settings.trigger_authentication},
                }
            ],
        },
    }


def trigger_authentication(settings: RenderSettings) -> dict[str, Any]:
    """The TriggerAuthentication giving KEDA the broker's management URL from the Secret."""
    return {
        "apiVersion": KEDA_API_VERSION,
        "kind": "TriggerAuthentication",
        "metadata": {
            "name": settings.trigger_authentication,
            "namespace": settings.namespace,
            "labels": {
                "app.kubernetes.io/part-of": "eventfn",
                "app.kubernetes.io/component": "autoscaling",
            },
        },
        "spec": {
            "secretTargetRef": [
                {
                    "parameter": "host",
                    "name": settings.broker_secret,
                    "key": settings.management_url_key,
                }
            ]
        },
    }
