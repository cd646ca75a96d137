"""The in-test API server's object store: what etcd plus the API server's registry do.

Objects live in memory under ``(collection path, name)``; every write bumps one global
``resourceVersion`` and appends a watch event. The store applies the API server's rules
that eventfn's code and the pod runner rely on: uid/generation/creationTimestamp,
``generation`` bumped on non-metadata non-status changes, the status subresource
(writes to the main resource keep status; writes to ``/status`` change only status),
optimistic concurrency on ``metadata.resourceVersion``, finalizers and
``deletionTimestamp``, namespace existence, defaulting of Deployments, CRD schema
pruning and validation (``openAPIV3Schema`` through ``jsonschema``), CRDs becoming
served types, and the garbage collector (``ownerReferences``; ``Background``,
``Foreground`` and ``Orphan`` propagation).
"""

from __future__ import annotations

import base64
import copy
import itertools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import jsonschema

from . import patches
from .resources import Catalogue, ResourceType

Event = tuple[int, str, str, dict[str, Any]]  # (resourceVersion, type, prefix, object)


class ApiError(Exception):
    REASONS: ClassVar[dict[int, str]] = {
        400: "BadRequest",
        403: "Forbidden",
        404: "NotFound",
        405: "MethodNotAllowed",
        409: "Conflict",
        410: "Expired",
        415: "UnsupportedMediaType",
        422: "Invalid",
        500: "InternalError",
        503: "ServiceUnavailable",
    }

    def __init__(self, code: int, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason or self.REASONS.get(code, "")


def status_body(code: int, message: str, reason: str | None = None) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if code < 400 else "Failure",
        "message": message,
        "reason": reason if reason is not None else ApiError.REASONS.get(code, ""),
        "code": code,
    }


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class Store:
    catalogue: Catalogue

    def __post_init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.events: list[Event] = []
        self.cond = threading.Condition(threading.RLock())
        self.listeners: list[Callable[[Event], None]] = []
        self._rv = itertools.count(1)
        self.version = 0
        #: watches from an older resourceVersion get 410 Gone (tests raise it)
        self.oldest_watchable = 0
        self.schemas: dict[tuple[str, str, str], dict[str, Any]] = {}
        #: ClusterIPs handed to Services (none: Services get no ClusterIP)
        self.service_ips: list[str] = []
        #: False while a test writes what the CRD schema would refuse (``put(validate=False)``)
        self.validate = True

    # -- reading ------------------------------------------------------------------------
    def get(self, rtype: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        with self.cond:
            found = self.objects.get((rtype.collection(namespace), name))
            if found is None:
                raise ApiError(404, f'{rtype.plural} "{name}" not found')
            return copy.deepcopy(found)

    def list(
        self, rtype: ResourceType, namespace: str | None, match: Callable[[dict[str, Any]], bool]
    ) -> tuple[list[dict[str, Any]], int]:
        with self.cond:
            items = [
                copy.deepcopy(obj)
                for (prefix, _), obj in sorted(self.objects.items())
                if self.belongs(prefix, rtype, namespace) and match(obj)
            ]
            return items, self.version

    def belongs(self, prefix: str, rtype: ResourceType, namespace: str | None) -> bool:
        if namespace or not rtype.namespaced:
            return prefix == rtype.collection(namespace)
        return prefix.startswith(f"{rtype.base}/namespaces/") and prefix.endswith(
            f"/{rtype.plural}"
        )

    # -- writing ------------------------------------------------------------------------
    def create(
        self, rtype: ResourceType, namespace: str | None, body: dict[str, Any], manager: str
    ) -> dict[str, Any]:
        with self.cond:
            obj = copy.deepcopy(body)
            meta = obj.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            if not meta.get("name"):
                raise ApiError(
                    422, "metadata.name: Required value: name or generateName is required"
                )
            prefix = rtype.collection(namespace)
            if (prefix, meta["name"]) in self.objects:
                raise ApiError(
                    409, f'{rtype.plural} "{meta["name"]}" already exists', "AlreadyExists"
                )
            self._check_namespace(rtype, namespace)
            if rtype.namespaced:
                meta["namespace"] = namespace
            meta.pop("resourceVersion", None)
            meta.pop("managedFields", None)
            meta["uid"] = str(uuid.uuid4())
            meta["generation"] = 1
            meta["creationTimestamp"] = now()
            obj["apiVersion"], obj["kind"] = rtype.api_version, rtype.kind
            if "status" in rtype.subresources:
                obj.pop("status", None)
            self._admit(rtype, obj)
            patches.record_update(None, obj, manager)
            self._store(prefix, obj, "ADDED")
            self._after_write(rtype, obj)
            return copy.deepcopy(obj)

    def update(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        change: Callable[[dict[str, Any]], dict[str, Any]],
        *,
        manager: str,
        subresource: str | None = None,
        precondition: str | None = None,
    ) -> dict[str, Any]:
        """Replace the object by ``change(current)`` (PUT, patches, subresources)."""
        with self.cond:
            prefix = rtype.collection(namespace)
            current = self.objects.get((prefix, name))
            if current is None:
                raise ApiError(404, f'{rtype.plural} "{name}" not found')
            if precondition is not None and precondition != current["metadata"]["resourceVersion"]:
                raise ApiError(
                    409,
                    f'Operation cannot be fulfilled on {rtype.plural} "{name}": the object '
                    "has been modified; please apply your changes to the latest version "
                    "and try again",
                )
            wanted = change(copy.deepcopy(current))
            return self._replace(rtype, prefix, current, wanted, manager, subresource)

    def _replace(
        self,
        rtype: ResourceType,
        prefix: str,
        current: dict[str, Any],
        wanted: dict[str, Any],
        manager: str,
        subresource: str | None,
    ) -> dict[str, Any]:
        old_meta = current["metadata"]
        if subresource == "status":
            obj = copy.deepcopy(current)
            obj["status"] = wanted.get("status")
        else:
            obj = copy.deepcopy(wanted)
            if "status" in rtype.subresources:
                if "status" in current:
                    obj["status"] = copy.deepcopy(current["status"])
                else:
                    obj.pop("status", None)
            meta = obj.setdefault("metadata", {})
            for key in ("uid", "creationTimestamp", "name", "namespace", "deletionTimestamp"):
                if key in old_meta:
                    meta[key] = old_meta[key]
            meta["managedFields"] = old_meta.get("managedFields", [])
            meta["generation"] = old_meta.get("generation", 1)
            if old_meta.get("deletionTimestamp") and len(meta.get("finalizers") or []) > len(
                old_meta.get("finalizers") or []
            ):
                raise ApiError(422, "no new finalizers can be added if the object is being deleted")
            obj["apiVersion"], obj["kind"] = rtype.api_version, rtype.kind
            self._admit(rtype, obj, current)
            if _content(obj) != _content(current):
                meta["generation"] = int(meta["generation"]) + 1
        if obj == current:
            return copy.deepcopy(current)  # a no-op write bumps nothing, as in Kubernetes
        patches.record_update(current, obj, manager)
        self._store(prefix, obj, "MODIFIED")
        if obj["metadata"].get("deletionTimestamp") and not obj["metadata"].get("finalizers"):
            self._delete_now(rtype, prefix, obj["metadata"]["name"])
        else:
            self._after_write(rtype, obj)
        return copy.deepcopy(obj)

    def apply(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        config: dict[str, Any],
        manager: str,
        force: bool,
        subresource: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Server-side apply: 201 with a new object, else 200 with the merged one."""
        if (config.get("metadata") or {}).get("name", name) != name:
            raise ApiError(400, "the name of the object does not match the name on the URL")
        with self.cond:
            prefix = rtype.collection(namespace)
            current = self.objects.get((prefix, name))
            try:
                merged = patches.apply(current, config, manager, force)
            except patches.ApplyConflict as conflict:
                raise ApiError(409, str(conflict)) from None
            if current is None:
                merged.setdefault("metadata", {})["name"] = name
                managed = merged["metadata"].pop("managedFields")
                created = self.create(rtype, namespace, merged, manager)
                created["metadata"]["managedFields"] = managed
                self.objects[(prefix, name)]["metadata"]["managedFields"] = managed
                return 201, copy.deepcopy(created)
            if subresource == "status":
                merged = patches.merge_patch(current, {"status": config.get("status")})
            return 200, self._replace(rtype, prefix, current, merged, manager, subresource)

    def delete(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        propagation: str | None,
        grace_seconds: int | None = None,
    ) -> dict[str, Any] | None:
        """Delete (or mark deleted while finalizers remain); None when gone at once.

        A Pod bound to a node is deleted gracefully, as in Kubernetes: it gets a
        ``deletionTimestamp`` and ``deletionGracePeriodSeconds``, and the kubelet
        removes it (``gracePeriodSeconds=0``) once its containers have stopped."""
        with self.cond:
            prefix = rtype.collection(namespace)
            current = self.objects.get((prefix, name))
            if current is None:
                raise ApiError(404, f'{rtype.plural} "{name}" not found')
            spec = current.get("spec") or {}
            if rtype.kind == "Pod" and rtype.group == "" and spec.get("nodeName"):
                grace = spec.get("terminationGracePeriodSeconds", 30)
                grace = grace if grace_seconds is None else grace_seconds
                if grace > 0:
                    if current["metadata"].get("deletionTimestamp"):
                        return copy.deepcopy(current)
                    marked = copy.deepcopy(current)
                    marked["metadata"]["deletionTimestamp"] = now()
                    marked["metadata"]["deletionGracePeriodSeconds"] = grace
                    self._store(prefix, marked, "MODIFIED")
                    return copy.deepcopy(marked)
                if not current["metadata"].get("finalizers"):
                    self._delete_now(rtype, prefix, name)
                    return None
            if propagation == "Orphan":
                self._orphan(current["metadata"]["uid"])
            if propagation == "Foreground":
                for dependent in self._dependents(current["metadata"]["uid"]):
                    self._collect(dependent, current["metadata"]["uid"], "Foreground")
            if current["metadata"].get("finalizers"):
                if current["metadata"].get("deletionTimestamp"):
                    return copy.deepcopy(current)
                marked = copy.deepcopy(current)
                marked["metadata"]["deletionTimestamp"] = now()
                self._store(prefix, marked, "MODIFIED")
                return copy.deepcopy(marked)
            self._delete_now(rtype, prefix, name)
            return None

    # -- internals ----------------------------------------------------------------------
    def _check_namespace(self, rtype: ResourceType, namespace: str | None) -> None:
        if not rtype.namespaced:
            return
        if not namespace:
            raise ApiError(400, "the namespace of the object is required")
        ns = self.objects.get(("/api/v1/namespaces", namespace))
        if ns is None:
            raise ApiError(404, f'namespaces "{namespace}" not found')
        if ns["metadata"].get("deletionTimestamp"):
            raise ApiError(
                403,
                f"unable to create new content in namespace {namespace} because it is "
                "being terminated",
                "Forbidden",
            )

    def _admit(
        self, rtype: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None = None
    ) -> None:
        """Defaults, then CRD pruning and validation. On update an invalid field that
        did not change passes (CRD validation ratcheting, on by default since 1.30)."""
        if rtype.kind == "Deployment" and rtype.group == "apps":
            _default_deployment(obj)
        if rtype.kind == "Secret" and rtype.group == "":
            data = obj.setdefault("data", {})
            for key, value in (obj.pop("stringData", None) or {}).items():
                data[key] = base64.b64encode(str(value).encode()).decode()
        if rtype.kind == "Service" and rtype.group == "":
            self._allocate_cluster_ip(obj, old)
        schema = self.schemas.get((rtype.group, rtype.version, rtype.plural))
        if schema is None:
            return
        _prune(obj, schema, root=True)
        if not self.validate:
            return
        validator = jsonschema.Draft4Validator(_for_jsonschema(schema))
        for error in validator.iter_errors(_without_meta(obj)):
            path = tuple(str(p) for p in error.absolute_path)
            if old is not None and patches.lookup(old, path) == patches.lookup(obj, path):
                continue
            raise ApiError(
                422,
                f'{rtype.kind}.{rtype.group} "{obj["metadata"].get("name")}" is '
                f"invalid: {'.'.join(path)}: {error.message}",
            )

    def _allocate_cluster_ip(self, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if old is not None and (old.get("spec") or {}).get("clusterIP"):
            spec["clusterIP"] = old["spec"]["clusterIP"]
        if spec.get("clusterIP") or not self.service_ips:
            return
        taken = {(o.get("spec") or {}).get("clusterIP") for o in self.objects.values()}
        free = [ip for ip in self.service_ips if ip not in taken]
        if not free:
            raise ApiError(500, "the service IP range is full")
        spec["clusterIP"] = free[0]
        spec["clusterIPs"] = [free[0]]
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port["port"])

    def _after_write(self, rtype: ResourceType, obj: dict[str, Any]) -> None:
        if rtype.kind == "CustomResourceDefinition":
            for version in obj["spec"]["versions"]:
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                key = (obj["spec"]["group"], version["name"], obj["spec"]["names"]["plural"])
                if schema:
                    self.schemas[key] = schema
            self.catalogue.add_crd(obj)
            if not (obj.get("status") or {}).get("conditions"):
                obj["status"] = {
                    "conditions": [
                        {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
                        {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"},
                    ],
                    "acceptedNames": obj["spec"]["names"],
                    "storedVersions": [
                        v["name"] for v in obj["spec"]["versions"] if v.get("storage")
                    ],
                }
                self._store(rtype.collection(None), obj, "MODIFIED")

    def _store(self, prefix: str, obj: dict[str, Any], kind: str) -> None:
        self.version = next(self._rv)
        obj["metadata"]["resourceVersion"] = str(self.version)
        self.objects[(prefix, obj["metadata"]["name"])] = obj
        self._emit((self.version, kind, prefix, copy.deepcopy(obj)))

    def _emit(self, event: Event) -> None:
        self.events.append(event)
        for listener in list(self.listeners):
            listener(event)
        self.cond.notify_all()

    def _delete_now(self, rtype: ResourceType, prefix: str, name: str) -> None:
        obj = self.objects.pop((prefix, name))
        self.version = next(self._rv)
        obj["metadata"]["resourceVersion"] = str(self.version)
        self._emit((self.version, "DELETED", prefix, copy.deepcopy(obj)))
        if rtype.kind == "CustomResourceDefinition":
            group, plural = obj["spec"]["group"], obj["spec"]["names"]["plural"]
            for key in [
                k for k in self.objects if k[0].endswith(f"/{plural}") and f"/{group}/" in k[0]
            ]:
                self._delete_key(key)
            self.catalogue.remove_crd(obj)
        if rtype.kind == "Namespace":
            for key in [k for k in self.objects if f"/namespaces/{name}/" in k[0]]:
                self._delete_key(key)
        uid = obj["metadata"]["uid"]
        for dependent in self._dependents(uid):
            self._collect(dependent, uid, "Background")

    def _delete_key(self, key: tuple[str, str]) -> None:
        rtype = self._type_of(key[0])
        if rtype is not None and key in self.objects:
            self._delete_now(rtype, key[0], key[1])

    def _type_of(self, prefix: str) -> ResourceType | None:
        for rtype in self.catalogue.types.values():
            if prefix.startswith(rtype.base + "/") and prefix.endswith("/" + rtype.plural):
                return rtype
        return None

    def _dependents(self, uid: str) -> list[tuple[str, str]]:
        return [
            key
            for key, obj in self.objects.items()
            if any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])
        ]

    def _collect(self, key: tuple[str, str], owner_uid: str, propagation: str) -> None:
        """The garbage collector: a dependent whose owners are all gone is deleted."""
        obj = self.objects.get(key)
        rtype = self._type_of(key[0])
        if obj is None or rtype is None:
            return
        alive = {o["metadata"]["uid"] for o in self.objects.values()} - {owner_uid}
        refs = obj["metadata"].get("ownerReferences") or []
        if any(ref.get("uid") in alive for ref in refs):
            kept = copy.deepcopy(obj)
            kept["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != owner_uid]
            self._store(key[0], kept, "MODIFIED")
            return
        self.delete(rtype, obj["metadata"].get("namespace"), key[1], propagation)

    def _orphan(self, uid: str) -> None:
        for key in self._dependents(uid):
            kept = copy.deepcopy(self.objects[key])
            refs = kept["metadata"]["ownerReferences"]
            kept["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
            if not kept["metadata"]["ownerReferences"]:
                del kept["metadata"]["ownerReferences"]
            self._store(key[0], kept, "MODIFIED")


def _content(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def _without_meta(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != "metadata"}


def _for_jsonschema(schema: Any) -> Any:
    """openAPIV3Schema → JSON Schema: ``nullable`` and the int-or-string extension."""
    if isinstance(schema, list):
        return [_for_jsonschema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _for_jsonschema(v) for k, v in schema.items() if not k.startswith("x-kubernetes-")}
    if schema.get("x-kubernetes-int-or-string"):
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    if isinstance(out.get("properties"), dict):
        out["properties"].pop("metadata", None)
    return out


def _prune(obj: Any, schema: dict[str, Any], root: bool = False) -> None:
    """Drop fields the structural schema does not declare, as the API server does."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(obj, dict):
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        if properties is not None:
            for key in list(obj):
                if root and key in ("apiVersion", "kind", "metadata"):
                    continue
                if key in properties:
                    _prune(obj[key], properties[key])
                elif isinstance(additional, dict):
                    _prune(obj[key], additional)
                elif additional is not True:
                    del obj[key]
        elif isinstance(additional, dict):
            for value in obj.values():
                _prune(value, additional)
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for item in obj:
            _prune(item, schema["items"])


def _default_deployment(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        strategy["type"] = "RollingUpdate"
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxSurge", "25%")
        rolling.setdefault("maxUnavailable", "25%")
    pod = spec.setdefault("template", {}).setdefault("spec", {})
    pod.setdefault("restartPolicy", "Always")
    pod.setdefault("terminationGracePeriodSeconds", 30)
    pod.setdefault("dnsPolicy", "ClusterFirst")
    for container in pod.get("containers") or []:
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("imagePullPolicy", "IfNotPresent")
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if probe in container:
                declared = container[probe]
                declared.setdefault("periodSeconds", 10)
                declared.setdefault("timeoutSeconds", 1)
                declared.setdefault("failureThreshold", 3)
                declared.setdefault("successThreshold", 1)
                declared.setdefault("initialDelaySeconds", 0)
                if "httpGet" in declared:
                    declared["httpGet"].setdefault("path", "/")
                    declared["httpGet"].setdefault("scheme", "HTTP")
