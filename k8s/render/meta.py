"""Names, labels, API versions and owner references shared by every rendered resource.

Used by the other :mod:`k8s.render` modules and by the operator (to select what it owns).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = [
    "API_VERSION",
    "FUNCTION_KIND",
    "FUNCTION_LABEL",
    "GROUP",
    "KEDA_API_VERSION",
    "MANAGED_BY",
    "SUBSCRIPTION_KIND",
    "VERSION",
    "Owner",
    "labels",
    "object_meta",
    "selector_labels",
]

GROUP = "eventfn.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
FUNCTION_KIND = "Function"
SUBSCRIPTION_KIND = "Subscription"
KEDA_API_VERSION = "keda.sh/v1alpha1"
#: Label carrying the function name on everything rendered for it.
FUNCTION_LABEL = f"{GROUP}/function"
#: ``app.kubernetes.io/managed-by`` of everything eventfn renders (ownership itself is
#: carried by ``ownerReferences``).
MANAGED_BY = "eventfn"


class Owner(BaseModel):
    """The Function resource that owns a rendered object (known once it exists in a cluster)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    uid: str
    api_version: str = API_VERSION
    kind: str = FUNCTION_KIND

    def reference(self) -> dict[str, Any]:
        """The ``ownerReferences`` entry: the controller owner, blocking foreground deletion."""
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


def selector_labels(function: str) -> dict[str, str]:
    """The labels a function's Deployment selects its pods by (never change: immutable)."""
    return {"app.kubernetes.io/name": "eventfn-worker", "app.kubernetes.io/instance": function}


def labels(function: str, component: str = "worker") -> dict[str, str]:
    """Recommended labels of everything rendered for ``function`` (the worker's pods and
    objects get :func:`selector_labels`; Function/Subscription resources name ``eventfn``)."""
    name = "eventfn-worker" if component == "worker" else "eventfn"
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": function,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "eventfn",
        "app.kubernetes.io/managed-by": MANAGED_BY,
        FUNCTION_LABEL: function,
    }


def object_meta(
    name: str,
    namespace: str,
    object_labels: dict[str, str],
    owner: Owner | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": dict(object_labels)}
    if owner is not None:
        meta["ownerReferences"] = [owner.reference()]
    return meta
