"""Read objects: get one (``None`` when absent), list a namespace's.

Used by the operator (Functions, Deployments) and the Subscription source.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from k8s.client.calling import call
from k8s.client.resources import Kind
from k8s.errors import ApiClientError

__all__ = ["get", "list_objects"]


def get(api: client.ApiClient, kind: Kind, namespace: str, name: str) -> dict[str, Any] | None:
    """The object, or ``None`` on 404."""
    try:
        obj: dict[str, Any] = call(api, "GET", kind.path(namespace, name))
    except ApiClientError as exc:
        if exc.status == 404:
            return None
        raise
    return obj


def list_objects(
    api: client.ApiClient, kind: Kind, namespace: str, label_selector: str | None = None
) -> tuple[list[dict[str, Any]], str]:
    """Every object of ``kind`` in ``namespace``, and the list's ``resourceVersion``
    (where a watch starts from)."""
    query = [("labelSelector", label_selector)] if label_selector else []
    listing: dict[str, Any] = call(api, "GET", kind.path(namespace), query=query)
    items: list[dict[str, Any]] = list(listing.get("items") or [])
    for item in items:  # list items come without apiVersion/kind
        item.setdefault("apiVersion", kind.api_version)
        item.setdefault("kind", kind.kind)
    return items, str((listing.get("metadata") or {}).get("resourceVersion", ""))
