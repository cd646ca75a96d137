"""Delete an object (absent is fine): the operator's explicit cleanup of a Function's
workload, for what garbage collection would not remove (an orphaning delete of the
Function, a ScaledObject left over after KEDA mode was turned off)."""

from __future__ import annotations

from kubernetes import client

from k8s.client.calling import call
from k8s.client.resources import Kind
from k8s.errors import ApiClientError

__all__ = ["delete"]


def delete(api: client.ApiClient, kind: Kind, namespace: str, name: str) -> bool:
    """Delete with background propagation; ``False`` when it did not exist."""
    body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}
    try:
        call(api, "DELETE", kind.path(namespace, name), body=body)
    except ApiClientError as exc:
        if exc.status == 404:
            return False
        raise
    return True
