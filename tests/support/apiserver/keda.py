"""KEDA's two CRDs eventfn renders (ScaledObject, TriggerAuthentication), reduced to the
fields eventfn sets and KEDA's own schema requires of them. KEDA itself is not here:
registering these only lets the API accept (and validate) what the operator renders."""

from __future__ import annotations

from typing import Any


def _crd(kind: str, plural: str, short: str, spec_schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.keda.sh"},
        "spec": {
            "group": "keda.sh",
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": [short],
            },
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": {
                                    "type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                },
                            },
                        }
                    },
                }
            ],
        },
    }


_TRIGGER = {
    "type": "object",
    "required": ["type", "metadata"],
    "properties": {
        "type": {"type": "string"},
        "name": {"type": "string"},
        "useCachedMetrics": {"type": "boolean"},
        "metricType": {"type": "string"},
        "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
        "authenticationRef": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}, "kind": {"type": "string"}},
        },
    },
}

KEDA_CRDS: tuple[dict[str, Any], ...] = (
    _crd(
        "ScaledObject",
        "scaledobjects",
        "so",
        {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "name": {"type": "string"},
                        "envSourceContainerName": {"type": "string"},
                    },
                },
                "minReplicaCount": {"type": "integer", "format": "int32"},
                "maxReplicaCount": {"type": "integer", "format": "int32"},
                "idleReplicaCount": {"type": "integer", "format": "int32"},
                "pollingInterval": {"type": "integer", "format": "int32"},
                "cooldownPeriod": {"type": "integer", "format": "int32"},
                "initialCooldownPeriod": {"type": "integer", "format": "int32"},
                "advanced": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "fallback": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "triggers": {"type": "array", "items": _TRIGGER},
            },
        },
    ),
    _crd(
        "TriggerAuthentication",
        "triggerauthentications",
        "ta",
        {
            "type": "object",
            "properties": {
                "secretTargetRef": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["parameter", "name", "key"],
                        "properties": {
                            "parameter": {"type": "string"},
                            "name": {"type": "string"},
                            "key": {"type": "string"},
                        },
                    },
                },
                "env": {
                    "type": "array",
                    "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                },
                "podIdentity": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        },
    ),
)
