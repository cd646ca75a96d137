"""Merge patches: a Function's status (subresource) and its finalizers.

Both carry ``metadata.resourceVersion``, so the API server refuses them with 409
(:class:`k8s.errors.ApiConflict`) when the object changed since it was read; the
operator then re-reads and retries (see :func:`k8s.operator.controller`).
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from k8s.client.calling import call
from k8s.client.resources import Kind

__all__ = ["MERGE_PATCH", "patch_finalizers", "patch_status"]

MERGE_PATCH = "application/merge-patch+json"


def patch_status(
    api: client.ApiClient,
    kind: Kind,
    namespace: str,
    name: str,
    status: dict[str, Any],
    resource_version: str,
) -> dict[str, Any]:
    body = {"metadata": {"resourceVersion": resource_version}, "status": status}
    result: dict[str, Any] = call(
        api, "PATCH", kind.path(namespace, name, "status"), body=body, content_type=MERGE_PATCH
    )
    return result


def patch_finalizers(
    api: client.ApiClient,
    kind: Kind,
    namespace: str,
    name: str,
    finalizers: list[str],
    resource_version: str,
) -> dict[str, Any]:
    body = {"metadata": {"resourceVersion": resource_version, "finalizers": finalizers}}
    result: dict[str, Any] = call(
        api, "PATCH", kind.path(namespace, name), body=body, content_type=MERGE_PATCH
    )
    return result
