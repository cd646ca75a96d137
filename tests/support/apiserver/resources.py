"""The catalogue of resource types the in-test API server serves, and how their paths
look: the built-in kinds eventfn's manifests and code use, plus CRDs registered from
``CustomResourceDefinition`` objects (the shipped YAMLs, or any created through the API).

Discovery documents (``/api``, ``/api/v1``, ``/apis``, ``/apis/<group>/<version>``) are
built from this catalogue, in the shape ``kubernetes.dynamic`` and ``kubectl`` read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

#: /api/v1/... or /apis/<group>/<version>/..., optionally namespaced, then plural[/name[/sub]]
PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"(?:/namespaces/(?P<ns>[^/]+)(?=/))?"
    r"/(?P<plural>[^/]+)(?:/(?P<name>[^/]+)(?:/(?P<sub>[^/]+))?)?$"
)


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    subresources: tuple[str, ...] = ()
    short_names: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def base(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def collection(self, namespace: str | None) -> str:
        """The collection path of this type in ``namespace`` (the store's key prefix)."""
        if self.namespaced and namespace:
            return f"{self.base}/namespaces/{namespace}/{self.plural}"
        return f"{self.base}/{self.plural}"

    def discovery(self) -> list[dict[str, Any]]:
        entries = [
            {
                "name": self.plural,
                "singularName": self.kind.lower(),
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": ALL_VERBS,
                "shortNames": list(self.short_names),
            }
        ]
        for sub in self.subresources:
            kind = "Scale" if sub == "scale" else self.kind
            entries.append(
                {
                    "name": f"{self.plural}/{sub}",
                    "singularName": "",
                    "namespaced": self.namespaced,
                    "kind": kind,
                    "group": "autoscaling" if sub == "scale" else self.group,
                    "version": "v1" if sub == "scale" else self.version,
                    "verbs": ["get", "patch", "update"],
                }
            )
        return entries


BUILTIN = (
    ResourceType("", "v1", "Namespace", "namespaces", False, ("status",), ("ns",)),
    ResourceType("", "v1", "Pod", "pods", True, ("status",), ("po",)),
    ResourceType("", "v1", "Service", "services", True, ("status",), ("svc",)),
    ResourceType("", "v1", "Endpoints", "endpoints", True, (), ("ep",)),
    ResourceType("", "v1", "ConfigMap", "configmaps", True, (), ("cm",)),
    ResourceType("", "v1", "Secret", "secrets", True),
    ResourceType("", "v1", "ServiceAccount", "serviceaccounts", True, (), ("sa",)),
    ResourceType("", "v1", "Event", "events", True, (), ("ev",)),
    ResourceType("apps", "v1", "Deployment", "deployments", True, ("status", "scale"), ("deploy",)),
    ResourceType("apps", "v1", "ReplicaSet", "replicasets", True, ("status", "scale"), ("rs",)),
    ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    ResourceType(
        "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False
    ),
    ResourceType("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, ("status",)),
    ResourceType(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        True,
        ("status",),
        ("hpa",),
    ),
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases"),
    ResourceType(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        ("status",),
        ("crd",),
    ),
)


@dataclass
class Catalogue:
    """Every resource type served, by (group, version, plural)."""

    types: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for rtype in BUILTIN:
            self.add(rtype)

    def add(self, rtype: ResourceType) -> None:
        self.types[(rtype.group, rtype.version, rtype.plural)] = rtype

    def remove(self, group: str, version: str, plural: str) -> None:
        self.types.pop((group, version, plural), None)

    def find(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self.types.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        for rtype in self.types.values():
            if rtype.api_version == api_version and rtype.kind == kind:
                return rtype
        return None

    def add_crd(self, crd: dict[str, Any]) -> list[ResourceType]:
        """Serve each ``served`` version of a CustomResourceDefinition."""
        spec = crd["spec"]
        names = spec["names"]
        added = []
        for version in spec["versions"]:
            if not version.get("served", True):
                continue
            rtype = ResourceType(
                spec["group"],
                version["name"],
                names["kind"],
                names["plural"],
                spec.get("scope", "Namespaced") == "Namespaced",
                tuple(sorted((version.get("subresources") or {}).keys())),
                tuple(names.get("shortNames") or ()),
            )
            self.add(rtype)
            added.append(rtype)
        return added

    def remove_crd(self, crd: dict[str, Any]) -> None:
        spec = crd["spec"]
        for version in spec["versions"]:
            self.remove(spec["group"], version["name"], spec["names"]["plural"])

    # -- discovery documents -----------------------------------------------------------
    def core_versions(self) -> dict[str, Any]:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}],
        }

    def groups(self) -> dict[str, Any]:
        by_group: dict[str, list[str]] = {}
        for group, version, _ in self.types:
            if group and version not in by_group.setdefault(group, []):
                by_group[group].append(version)
        groups = []
        for group, versions in sorted(by_group.items()):
            entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
            groups.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def group(self, group: str) -> dict[str, Any] | None:
        for entry in self.groups()["groups"]:
            if entry["name"] == group:
                return {"kind": "APIGroup", "apiVersion": "v1", **entry}
        return None

    def resource_list(self, group: str, version: str) -> dict[str, Any] | None:
        resources = [
            entry
            for (g, v, _), rtype in sorted(self.types.items())
            if (g, v) == (group, version)
            for entry in rtype.discovery()
        ]
        if not resources:
            return None
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources,
        }
