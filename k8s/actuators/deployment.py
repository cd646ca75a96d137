"""Scale a function's Deployment through the ``apps/v1`` scale subresource.

Called by the autoscaler loop's Kubernetes actuator after
:func:`k8s.scaling.desired_replicas`. Thin on purpose: reads and patches
``deployments/{name}/scale`` with the official client and maps API failures onto
:class:`k8s.errors.ApiClientError` (4xx, do not retry as is) and
:class:`k8s.errors.ApiServerError` (5xx or no answer, retry later).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from k8s.errors import ApiClientError, ApiError, ApiServerError

__all__ = ["DeploymentScaler"]

_T = TypeVar("_T")


class DeploymentScaler:
    """Reads and sets the replica count of Deployments in one namespace."""

    def __init__(self, api: client.AppsV1Api, namespace: str) -> None:
        self._api = api
        self.namespace = namespace

    def replicas(self, name: str) -> int:
        """The Deployment's desired replica count (``spec.replicas`` of its scale)."""
        scale = self._call(
            name, lambda: self._api.read_namespaced_deployment_scale(name, self.namespace)
        )
        return int(scale.spec.replicas or 0)

    def scale(self, name: str, replicas: int) -> None:
        """Set the Deployment's replica count with a merge patch of its scale subresource."""
        if replicas < 0:
            raise ValueError(f"replicas must be >= 0, got {replicas}")
        body: dict[str, Any] = {"spec": {"replicas": replicas}}
        self._call(
            name,
            lambda: self._api.patch_namespaced_deployment_scale(name, self.namespace, body),
        )

    def _call(self, name: str, request: Callable[[], _T]) -> _T:
        target = f"deployments/{self.namespace}/{name}/scale"
        try:
            return request()
        except ApiException as exc:
            status = int(exc.status) if exc.status else None
            error: type[ApiError] = (
                ApiClientError if status is not None and 400 <= status < 500 else ApiServerError
            )
            raise error(target, status, str(exc.reason)) from exc
        except HTTPError as exc:
            raise ApiServerError(target, None, str(exc)) from exc
