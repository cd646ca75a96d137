"""Server-side apply: the operator's one way of creating and updating what it renders.

``PATCH`` with ``Content-Type: application/apply-patch+yaml`` (a JSON body is valid
YAML), ``fieldManager=eventfn-operator`` and ``force=true``: the operator owns the
fields it renders and takes them back from anyone who changed them, while fields it
never sets (a Deployment's ``spec.replicas``, owned by the autoscaler or the HPA)
are left alone.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from k8s.client.calling import call
from k8s.client.resources import kind_of

__all__ = ["APPLY_CONTENT_TYPE", "FIELD_MANAGER", "apply"]

FIELD_MANAGER = "eventfn-operator"
APPLY_CONTENT_TYPE = "application/apply-patch+yaml"


def apply(
    api: client.ApiClient, document: dict[str, Any], field_manager: str = FIELD_MANAGER
) -> dict[str, Any]:
    """Create or update ``document`` (namespaced; its kind known to
    :mod:`k8s.client.resources`); returns the object as stored."""
    kind = kind_of(document)
    meta = document["metadata"]
    result: dict[str, Any] = call(
        api,
        "PATCH",
        kind.path(meta["namespace"], meta["name"]),
        body=document,
        query=[("fieldManager", field_manager), ("force", "true")],
        content_type=APPLY_CONTENT_TYPE,
    )
    return result
