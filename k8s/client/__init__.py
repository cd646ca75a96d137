"""A thin Kubernetes API shell over the official client, one module per verb.

Public API::

    from k8s.client import get, list_objects, apply, patch_status, patch_finalizers
    from k8s.client import delete, watch_objects, Change, FUNCTIONS, DEPLOYMENTS

Every request goes through ``kubernetes.client.ApiClient.call_api``
(:mod:`k8s.client.calling`), so authentication and TLS are the client's; errors come
out as :mod:`k8s.errors` (4xx/409/5xx families). Used by the operator and the
Subscription source; decisions live elsewhere (:mod:`k8s.operator.plan`).
"""

from k8s.client.applying import APPLY_CONTENT_TYPE, FIELD_MANAGER, apply
from k8s.client.calling import call
from k8s.client.deleting import delete
from k8s.client.patching import MERGE_PATCH, patch_finalizers, patch_status
from k8s.client.reading import get, list_objects
from k8s.client.resources import (
    DEPLOYMENTS,
    FUNCTIONS,
    SCALED_OBJECTS,
    SERVICE_ACCOUNTS,
    SUBSCRIPTIONS,
    Kind,
    kind_of,
)
from k8s.client.watching import Change, watch_objects

__all__ = [
    "APPLY_CONTENT_TYPE",
    "DEPLOYMENTS",
    "FIELD_MANAGER",
    "FUNCTIONS",
    "MERGE_PATCH",
    "SCALED_OBJECTS",
    "SERVICE_ACCOUNTS",
    "SUBSCRIPTIONS",
    "Change",
    "Kind",
    "apply",
    "call",
    "delete",
    "get",
    "kind_of",
    "list_objects",
    "patch_finalizers",
    "patch_status",
    "watch_objects",
]
