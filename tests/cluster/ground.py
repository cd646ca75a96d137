"""The proving ground: an in-test API server, a private RabbitMQ node, a pod network,
the Deployment/ReplicaSet controllers, a kubelet and a Service proxy, assembled into
one simulated cluster that ``kubectl`` and eventfn's pods talk to.

    with Cluster() as cluster:
        cluster.apply(cluster.kustomize("k8s/manifests/overlays/dev"))
        cluster.wait_ready("eventfn")
        host, port = cluster.port_forward("eventfn", "eventfn-ingress")

Pods reach the API server at the bridge's host address (HTTPS, in-cluster config from
``KUBERNETES_SERVICE_HOST``/``PORT`` and the mounted service account), the broker as
``rabbitmq.eventfn.svc.cluster.local:5672`` (an ``/etc/hosts`` entry for the bridge
address, forwarded to the private node on loopback), and Services on their ClusterIP.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml
from kubernetes.dynamic import DynamicClient
from support.apiserver import KEDA_CRDS, ApiServer
from support.rabbitmq_node import RabbitMQNode

from .controllers import Controllers, pod_ready
from .images import REPO, Registry
from .kubelet import Kubelet
from .network import Network
from .services import ServiceProxy

BROKER_HOST = "rabbitmq.eventfn.svc.cluster.local"


class GroundError(AssertionError):
    pass


class Cluster:
    def __init__(self, registry: Registry | None = None, keda_crds: bool = False) -> None:
        self.registry = registry or Registry()
        self.keda_crds = keda_crds
        self._stack = contextlib.ExitStack()

    # -- lifecycle ----------------------------------------------------------------------
    def __enter__(self) -> Cluster:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _start(self) -> None:
        stack = self._stack
        self.tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="efc-cluster-")))
        self.node = stack.enter_context(RabbitMQNode())
        self.network = Network()
        stack.callback(self.network.close)
        gateway = self.network.gateway
        service_ips = [str(self.network.subnet.network_address + n) for n in range(200, 250)]
        from support.apiserver import SHIPPED_CRDS

        crds = [*SHIPPED_CRDS, *(KEDA_CRDS if self.keda_crds else ())]
        self.apiserver = stack.enter_context(
            ApiServer(hosts=["127.0.0.1", gateway], tls=True, service_ips=service_ips, crds=crds)
        )
        self.api = self.apiserver.client()
        stack.callback(self.api.close)
        self.dynamic = DynamicClient(self.api, cache_file=str(self.tmp / "discovery.json"))
        self.kubeconfig = self.apiserver.kubeconfig(self.tmp / "kubeconfig")
        self.proxy = ServiceProxy(self.apiserver.client(), self.network.bridge)
        broker_port = 5672
        try:
            self.proxy.forward(gateway, broker_port, ("127.0.0.1", self.node.port))
        except OSError:
            broker_port = self.proxy.forward(gateway, 0, ("127.0.0.1", self.node.port)).address[1]
        self.broker_url = f"amqp://guest:guest@{BROKER_HOST}:{broker_port}//"
        kubernetes_env = {
            "KUBERNETES_SERVICE_HOST": gateway,
            "KUBERNETES_SERVICE_PORT": str(self.apiserver.port),
            "KUBERNETES_SERVICE_PORT_HTTPS": str(self.apiserver.port),
            "KUBERNETES_PORT": f"tcp://{gateway}:{self.apiserver.port}",
            f"KUBERNETES_PORT_{self.apiserver.port}_TCP": f"tcp://{gateway}:{self.apiserver.port}",
            f"KUBERNETES_PORT_{self.apiserver.port}_TCP_PROTO": "tcp",
            f"KUBERNETES_PORT_{self.apiserver.port}_TCP_PORT": str(self.apiserver.port),
            f"KUBERNETES_PORT_{self.apiserver.port}_TCP_ADDR": gateway,
        }
        aliases = {gateway: [BROKER_HOST, "rabbitmq.eventfn.svc", "rabbitmq.eventfn"]}
        self.kubelet = Kubelet(
            self.apiserver.client(),
            self.network,
            self.registry,
            self.tmp / "pods",
            kubernetes_env,
            self.apiserver.ca_file,
            aliases,
        )
        self.controllers = Controllers(self.apiserver.client())
        stack.callback(self.proxy.close)
        stack.callback(self.kubelet.close)
        stack.callback(self.controllers.close)
        self.controllers.start()
        self.kubelet.start()
        self.proxy.start()

    # -- applying -----------------------------------------------------------------------
    def kustomize(self, overlay: str) -> list[dict[str, Any]]:
        """What ``kubectl kustomize <overlay>`` prints, as objects."""
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            raise GroundError("kubectl is needed for kustomize (Debian: kubernetes-client)")
        out = subprocess.run(
            [kubectl, "kustomize", str(REPO / overlay)], check=True, capture_output=True, text=True
        ).stdout
        return [doc for doc in yaml.safe_load_all(out) if doc]

    def kubectl(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        kubectl = shutil.which("kubectl")
        if kubectl is None:
            raise GroundError("kubectl is not installed")
        return subprocess.run(
            [kubectl, "--kubeconfig", str(self.kubeconfig), *args],
            check=False,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def apply(self, objects: Iterable[dict[str, Any]], manager: str = "kubectl") -> None:
        """Server-side apply each object, CRDs and Namespaces first (as kubectl orders)."""
        ordered = sorted(
            objects,
            key=lambda o: 0 if o["kind"] in ("CustomResourceDefinition", "Namespace") else 1,
        )
        for obj in ordered:
            resource = self.dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
            namespace = obj["metadata"].get("namespace") if resource.namespaced else None
            resource.server_side_apply(
                body=obj,
                name=obj["metadata"]["name"],
                namespace=namespace,
                field_manager=manager,
                force_conflicts=True,
            )

    def kubectl_apply(self, objects: Iterable[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
        """``kubectl apply --server-side`` of the objects, against the in-test API server."""
        text = yaml.safe_dump_all(list(objects))
        return self.kubectl(
            "apply", "--server-side", "--force-conflicts", "--validate=false", "-f", "-", stdin=text
        )

    def broker_secret(self, namespace: str = "eventfn") -> None:
        self.apply(
            [
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "eventfn-broker", "namespace": namespace},
                    "stringData": {"url": self.broker_url},
                }
            ],
            manager="cluster-admin",
        )

    # -- reading ------------------------------------------------------------------------
    def get(
        self, api_version: str, kind: str, namespace: str | None = None, name: str | None = None
    ) -> Any:
        resource = self.dynamic.resources.get(api_version=api_version, kind=kind)
        try:
            found = resource.get(name=name, namespace=namespace)
        except Exception as error:
            if getattr(error, "status", None) == 404:
                return None
            raise
        return found.to_dict()

    def pods(self, namespace: str, selector: str | None = None) -> list[dict[str, Any]]:
        resource = self.dynamic.resources.get(api_version="v1", kind="Pod")
        return resource.get(namespace=namespace, label_selector=selector).to_dict()["items"]

    def deployment(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.get("apps/v1", "Deployment", namespace, name)

    def wait(
        self, what: str, check: Callable[[], Any], timeout: float = 120, interval: float = 0.2
    ) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise GroundError(
                    f"timed out after {timeout:.0f} s waiting for {what}\n{self.diagnose()}"
                )
            time.sleep(interval)

    def deployments_ready(self, namespace: str, names: Iterable[str] | None = None) -> bool:
        items = self.get("apps/v1", "Deployment", namespace)["items"]
        chosen = [d for d in items if names is None or d["metadata"]["name"] in set(names)]
        return bool(chosen) and all(_rolled_out(d) for d in chosen)

    def wait_ready(
        self, namespace: str, names: Iterable[str] | None = None, timeout: float = 180
    ) -> None:
        wanted = list(names) if names is not None else None
        self.wait(
            f"deployments in {namespace} to be ready",
            lambda: self.deployments_ready(namespace, wanted),
            timeout,
        )

    def port_forward(
        self, namespace: str, service: str, port: int | None = None
    ) -> tuple[str, int]:
        return self.proxy.port_forward(namespace, service, port)

    def restarts(self, namespace: str) -> dict[str, int]:
        return {
            p["metadata"]["name"]: sum(
                s.get("restartCount", 0)
                for s in (p.get("status") or {}).get("containerStatuses") or []
            )
            for p in self.pods(namespace)
        }

    def logs(self, pod: str, tail: int = 4000) -> str:
        for folder in (self.tmp / "pods").glob(f"*_{pod}"):
            return "\n".join(
                f"== {log.name}\n{log.read_text(errors='replace')[-tail:]}"
                for log in sorted(folder.glob("*.log"))
            )
        return ""

    def diagnose(self) -> str:
        """Pods, their states and log tails: what a failing scenario prints."""
        lines = []
        try:
            for pod in self.pods_everywhere():
                statuses = (pod.get("status") or {}).get("containerStatuses") or []
                states = [
                    (
                        s["name"],
                        list(s.get("state", {}))[:1],
                        s.get("restartCount"),
                        s.get("ready"),
                        s.get("lastState"),
                    )
                    for s in statuses
                ]
                lines.append(
                    f"pod {pod['metadata']['namespace']}/{pod['metadata']['name']} "
                    f"ready={pod_ready(pod)} {states}"
                )
                lines.append(self.logs(pod["metadata"]["name"], 1500))
        except Exception as error:
            lines.append(f"(diagnose failed: {error!r})")
        lines.append(
            f"controller errors: {self.controllers.errors[-3:]}; "
            f"kubelet errors: {self.kubelet.errors[-3:]}; proxy errors: {self.proxy.errors[-3:]}"
        )
        return "\n".join(lines)

    def pods_everywhere(self) -> list[dict[str, Any]]:
        resource = self.dynamic.resources.get(api_version="v1", kind="Pod")
        return resource.get().to_dict()["items"]

    def secret_value(self, namespace: str, name: str, key: str) -> str:
        secret = self.get("v1", "Secret", namespace, name)
        return base64.b64decode(secret["data"][key]).decode()


def _rolled_out(d: dict[str, Any]) -> bool:
    spec, status = d["spec"], d.get("status") or {}
    desired = spec.get("replicas", 1)
    return (
        status.get("observedGeneration", 0) >= d["metadata"].get("generation", 1)
        and status.get("updatedReplicas", 0) == desired
        and status.get("readyReplicas", 0) == desired
        and status.get("replicas", 0) == desired
    )


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=1, sort_keys=True)
