"""The Deployment and ReplicaSet controllers of the proving ground, through the API with
the official ``DynamicClient`` as kube-controller-manager works through it.

* **Deployment**: one ReplicaSet per pod template (named by the template's hash, label
  ``pod-template-hash``, owned by the Deployment); a template change rolls out under
  ``maxSurge``/``maxUnavailable`` (``Recreate`` scales the old ones to 0 first);
  ``status`` (replicas, updatedReplicas, readyReplicas, availableReplicas,
  unavailableReplicas, observedGeneration, conditions) is written back.
* **ReplicaSet**: creates and deletes Pods to match ``spec.replicas`` (not-ready and
  newest pods go first), binds them to the one node (there is no scheduler), and writes
  its status. Pods of a deleted ReplicaSet go with it (the API's garbage collector).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import threading
import uuid
from typing import Any

from kubernetes import client
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ApiException

from .kubelet import NODE

HASH = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"


def template_hash(template: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def resolve(value: Any, total: int, round_up: bool) -> int:
    text = str(value)
    if text.endswith("%"):
        share = total * int(text[:-1]) / 100
        return math.ceil(share) if round_up else math.floor(share)
    return int(text)


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, op, values = expression["key"], expression["operator"], expression.get("values") or []
        present = key in labels
        if (op == "In" and labels.get(key) not in values) or (
            op == "NotIn" and labels.get(key) in values
        ):
            return False
        if (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
    return True


def pod_ready(pod: dict[str, Any]) -> bool:
    return any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def owner_ref(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def owned_by(obj: dict[str, Any], owner: dict[str, Any]) -> bool:
    return any(
        r.get("uid") == owner["metadata"]["uid"] and r.get("controller")
        for r in obj["metadata"].get("ownerReferences") or []
    )


class Controllers:
    """Both controllers on one thread, reconciling every ``interval`` seconds."""

    MANAGER = "kube-controller-manager"

    def __init__(self, api: client.ApiClient, interval: float = 0.2) -> None:
        self.dynamic = DynamicClient(api, cache_file=None)
        self.deployments = self.dynamic.resources.get(api_version="apps/v1", kind="Deployment")
        self.replicasets = self.dynamic.resources.get(api_version="apps/v1", kind="ReplicaSet")
        self.pods = self.dynamic.resources.get(api_version="v1", kind="Pod")
        self.interval = interval
        self.stopping = threading.Event()
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._loop, daemon=True, name="efc-controllers")

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.sync()
            except Exception as error:
                self.errors.append(repr(error))
            self.stopping.wait(self.interval)

    def _list(self, resource: Any) -> list[dict[str, Any]]:
        return [
            i.to_dict() if hasattr(i, "to_dict") else i for i in resource.get().to_dict()["items"]
        ]

    def sync(self) -> None:
        deployments = self._list(self.deployments)
        sets = self._list(self.replicasets)
        pods = [p for p in self._list(self.pods)]
        for deployment in deployments:
            with contextlib.suppress(ApiException):
                self._deployment(deployment, [s for s in sets if owned_by(s, deployment)], pods)
        sets = self._list(self.replicasets)
        for replicaset in sets:
            with contextlib.suppress(ApiException):
                self._replicaset(replicaset, [p for p in pods if owned_by(p, replicaset)])

    # -- Deployment ---------------------------------------------------------------------
    def _deployment(  # noqa: PLR0912 - the rollout rules in one place
        self, d: dict[str, Any], sets: list[dict[str, Any]], pods: list[dict[str, Any]]
    ) -> None:
        meta, spec = d["metadata"], d["spec"]
        namespace = meta["namespace"]
        desired = int(spec.get("replicas", 1))
        template = copy.deepcopy(spec["template"])
        digest = template_hash(template)
        new = next((s for s in sets if s["metadata"].get("labels", {}).get(HASH) == digest), None)
        old = [s for s in sets if s is not new]
        revision = max(
            [int(s["metadata"].get("annotations", {}).get(REVISION, 0)) for s in sets] or [0]
        )
        if new is None:
            template.setdefault("metadata", {}).setdefault("labels", {})[HASH] = digest
            selector = copy.deepcopy(spec["selector"])
            selector.setdefault("matchLabels", {})[HASH] = digest
            first = not sets
            body = {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": f"{meta['name']}-{digest}",
                    "namespace": namespace,
                    "labels": {**(template["metadata"].get("labels") or {})},
                    "annotations": {REVISION: str(revision + 1)},
                    "ownerReferences": [owner_ref(d)],
                },
                "spec": {
                    "replicas": desired
                    if first or (spec.get("strategy", {}).get("type") == "Recreate" and not old)
                    else 0,
                    "selector": selector,
                    "template": template,
                    "minReadySeconds": spec.get("minReadySeconds", 0),
                },
            }
            if spec.get("strategy", {}).get("type") == "Recreate" and old:
                body["spec"]["replicas"] = 0
            new = self.replicasets.create(body=body, namespace=namespace).to_dict()
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]

        def pods_of(rs: dict[str, Any]) -> list[dict[str, Any]]:
            return [p for p in live if owned_by(p, rs)]

        new_replicas = int(new["spec"].get("replicas", 0))
        old_total = sum(int(s["spec"].get("replicas", 0)) for s in old)
        strategy = spec.get("strategy") or {}
        if strategy.get("type") == "Recreate":
            if old_total or any(pods_of(s) for s in old):
                for s in old:
                    self._scale(s, 0)
            elif new_replicas != desired:
                self._scale(new, desired)
        elif not old:
            if new_replicas != desired:
                self._scale(new, desired)
        else:
            rolling = strategy.get("rollingUpdate") or {}
            surge = resolve(rolling.get("maxSurge", "25%"), desired, True)
            unavailable = resolve(rolling.get("maxUnavailable", "25%"), desired, False)
            if surge == 0 and unavailable == 0:
                unavailable = 1
            total = new_replicas + old_total
            if total < desired + surge and new_replicas < desired:
                new_replicas = min(desired, new_replicas + desired + surge - total)
                self._scale(new, new_replicas)
            ready = sum(1 for s in [new, *old] for p in pods_of(s) if pod_ready(p))
            removable = max(0, ready - (desired - unavailable))
            for s in sorted(old, key=lambda s: s["metadata"]["creationTimestamp"]):
                current = int(s["spec"].get("replicas", 0))
                unhealthy = sum(1 for p in pods_of(s) if not pod_ready(p))
                cut = min(current, removable + min(unhealthy, current))
                if cut:
                    self._scale(s, current - cut)
                    removable = max(0, removable - cut)
            new_pods = pods_of(new)
            if new_replicas >= desired and len([p for p in new_pods if pod_ready(p)]) >= desired:
                for s in old:
                    if int(s["spec"].get("replicas", 0)):
                        self._scale(s, 0)
        everyone = [p for s in [new, *old] for p in pods_of(s)]
        ready_count = sum(1 for p in everyone if pod_ready(p))
        updated = len(pods_of(new))
        status = {
            "observedGeneration": meta.get("generation", 1),
            "replicas": len(everyone),
            "updatedReplicas": updated,
            "readyReplicas": ready_count,
            "availableReplicas": ready_count,
            "unavailableReplicas": max(0, len(everyone) - ready_count),
            "conditions": [
                {
                    "type": "Available",
                    "status": "True"
                    if ready_count
                    >= desired
                    - resolve(
                        (strategy.get("rollingUpdate") or {}).get("maxUnavailable", "25%"),
                        desired,
                        False,
                    )
                    else "False",
                    "reason": "MinimumReplicasAvailable",
                },
                {
                    "type": "Progressing",
                    "status": "True",
                    "reason": "NewReplicaSetAvailable"
                    if updated == desired == ready_count and not any(pods_of(s) for s in old)
                    else "ReplicaSetUpdated",
                },
            ],
        }
        if _changed(d.get("status"), status):
            self.deployments.subresources["status"].patch(
                name=meta["name"],
                namespace=namespace,
                body={
                    "status": {k: (v or None) if k in _OMIT_ZERO else v for k, v in status.items()}
                },
                content_type="application/merge-patch+json",
                field_manager=self.MANAGER,
            )

    def _scale(self, rs: dict[str, Any], replicas: int) -> None:
        rs["spec"]["replicas"] = replicas
        self.replicasets.patch(
            name=rs["metadata"]["name"],
            namespace=rs["metadata"]["namespace"],
            body={"spec": {"replicas": replicas}},
            content_type="application/merge-patch+json",
            field_manager=self.MANAGER,
        )

    # -- ReplicaSet ---------------------------------------------------------------------
    def _replicaset(self, rs: dict[str, Any], pods: list[dict[str, Any]]) -> None:
        meta, spec = rs["metadata"], rs["spec"]
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        want = int(spec.get("replicas", 0))
        if len(live) < want:
            for _ in range(want - len(live)):
                template = copy.deepcopy(spec["template"])
                body = {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        **template.get("metadata", {}),
                        "name": f"{meta['name']}-{uuid.uuid4().hex[:5]}",
                        "namespace": meta["namespace"],
                        "ownerReferences": [owner_ref(rs)],
                    },
                    "spec": {**template["spec"], "nodeName": NODE},
                }
                body["spec"].setdefault("serviceAccountName", "default")
                self.pods.create(body=body, namespace=meta["namespace"])
        elif len(live) > want:

            def rank(pod: dict[str, Any]) -> tuple[int, str]:
                return (1 if pod_ready(pod) else 0, _negated(pod["metadata"]["creationTimestamp"]))

            for pod in sorted(live, key=rank)[: len(live) - want]:
                with contextlib.suppress(ApiException):
                    self.pods.delete(name=pod["metadata"]["name"], namespace=meta["namespace"])
        ready = sum(1 for p in live if pod_ready(p))
        status = {
            "replicas": len(live),
            "fullyLabeledReplicas": len(live),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": meta.get("generation", 1),
        }
        if _changed(rs.get("status"), status):
            self.replicasets.subresources["status"].patch(
                name=meta["name"],
                namespace=meta["namespace"],
                body={
                    "status": {k: (v or None) if k in _OMIT_ZERO else v for k, v in status.items()}
                },
                content_type="application/merge-patch+json",
                field_manager=self.MANAGER,
            )


def _negated(stamp: str) -> str:
    """Sort key putting the newest creationTimestamp first."""
    return "".join(chr(0x10FFFF - ord(c)) for c in stamp)


#: status counters the API omits when zero (``omitempty``)
_OMIT_ZERO = ("readyReplicas", "availableReplicas", "unavailableReplicas", "updatedReplicas")


def _changed(current: dict[str, Any] | None, wanted: dict[str, Any]) -> bool:
    current = current or {}
    return any(current.get(k) != ((v or None) if k in _OMIT_ZERO else v) for k, v in wanted.items())
