"""Services of the proving ground, as kube-proxy and ``kubectl port-forward`` give them:
a TCP forwarder per Service port to the ready Pods its selector picks (round robin,
``targetPort`` by number or by the container port's name).

Each Service listens on its ClusterIP (an address the test added to the pod bridge, so
pods reach it as they would through kube-proxy) and, on request, on a loopback port
(``port_forward``), which is what the tests post to. Static forwards (``forward``) give
pods a way to a service of the host, e.g. the test's private RabbitMQ node.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import selectors
import socket
import subprocess
import threading
from collections.abc import Callable
from typing import Any

from kubernetes import client

from .controllers import matches, pod_ready

Backend = tuple[str, int]


class Forwarder:
    """Accepts on ``(host, port)`` and pipes each connection to ``pick()``."""

    def __init__(self, host: str, port: int, pick: Callable[[], Backend | None]) -> None:
        self.pick = pick
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(128)
        self.address = self.sock.getsockname()
        self.closed = threading.Event()
        self.connections = 0
        self.thread = threading.Thread(target=self._accept, daemon=True, name=f"efc-fwd-{port}")
        self.thread.start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._pipe, args=(conn,), daemon=True).start()

    def _pipe(self, conn: socket.socket) -> None:
        backend = self.pick()
        if backend is None:  # no ready endpoint: refused, as kube-proxy's REJECT
            conn.close()
            return
        try:
            upstream = socket.create_connection(backend, timeout=5)
        except OSError:
            conn.close()
            return
        self.connections += 1
        upstream.settimeout(None)
        selector = selectors.DefaultSelector()
        selector.register(conn, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, conn)
        try:
            while not self.closed.is_set():
                for key, _ in selector.select(timeout=0.5):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            selector.close()
            conn.close()
            upstream.close()

    def close(self) -> None:
        self.closed.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class ServiceProxy:
    """Keeps one :class:`Forwarder` per (Service, port) on its ClusterIP."""

    def __init__(self, api: client.ApiClient, bridge: str) -> None:
        self.api = api
        self.bridge = bridge
        self.forwarders: dict[tuple[str, str, int], Forwarder] = {}
        self.local: list[Forwarder] = []
        self.addresses: set[str] = set()
        self.turn = itertools.count()
        self.stopping = threading.Event()
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._loop, daemon=True, name="efc-proxy")

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        for forwarder in [*self.forwarders.values(), *self.local]:
            forwarder.close()
        for address in self.addresses:
            subprocess.run(
                ["ip", "addr", "del", f"{address}/32", "dev", self.bridge],
                check=False,
                capture_output=True,
            )

    def _get(self, path: str) -> dict[str, Any]:
        response = self.api.call_api(
            path, "GET", auth_settings=[], _preload_content=False, _return_http_data_only=True
        )
        return json.loads(response.data)

    def endpoints(self, namespace: str, name: str, port: dict[str, Any]) -> list[Backend]:
        service = self._get(f"/api/v1/namespaces/{namespace}/services/{name}")
        selector = (service.get("spec") or {}).get("selector") or {}
        if not selector:
            return []
        pods = self._get(f"/api/v1/namespaces/{namespace}/pods")["items"]
        found = []
        target = port.get("targetPort", port["port"])
        for pod in pods:
            if pod["metadata"].get("deletionTimestamp") or not pod_ready(pod):
                continue
            if not matches({"matchLabels": selector}, pod["metadata"].get("labels") or {}):
                continue
            number = _container_port(pod, target)
            ip = (pod.get("status") or {}).get("podIP")
            if number and ip:
                found.append((ip, number))
        return sorted(found)

    def _picker(
        self, namespace: str, name: str, port: dict[str, Any]
    ) -> Callable[[], Backend | None]:
        def pick() -> Backend | None:
            try:
                backends = self.endpoints(namespace, name, port)
            except client.ApiException:
                return None
            if not backends:
                return None
            return backends[next(self.turn) % len(backends)]

        return pick

    def port_forward(self, namespace: str, name: str, port: int | None = None) -> tuple[str, int]:
        """A loopback address that reaches Service ``name`` (``kubectl port-forward svc/...``)."""
        service = self._get(f"/api/v1/namespaces/{namespace}/services/{name}")
        ports = service["spec"]["ports"]
        chosen = next((p for p in ports if port is None or p["port"] == port), None)
        if chosen is None:
            raise LookupError(f"service {name} has no port {port}")
        forwarder = Forwarder("127.0.0.1", 0, self._picker(namespace, name, chosen))
        self.local.append(forwarder)
        return forwarder.address

    def forward(self, host: str, port: int, to: Backend) -> Forwarder:
        forwarder = Forwarder(host, port, lambda: to)
        self.local.append(forwarder)
        return forwarder

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self._sync()
            except Exception as error:
                self.errors.append(repr(error))
            self.stopping.wait(0.5)

    def _sync(self) -> None:
        services = self._get("/api/v1/services")["items"]
        wanted = set()
        for service in services:
            spec = service.get("spec") or {}
            ip = spec.get("clusterIP")
            if not ip or ip == "None" or not spec.get("selector"):
                continue
            namespace, name = service["metadata"]["namespace"], service["metadata"]["name"]
            if ip not in self.addresses:
                subprocess.run(
                    ["ip", "addr", "add", f"{ip}/32", "dev", self.bridge],
                    capture_output=True,
                    check=True,
                )
                self.addresses.add(ip)
            for port in spec.get("ports") or []:
                key = (namespace, name, int(port["port"]))
                wanted.add(key)
                if key not in self.forwarders:
                    self.forwarders[key] = Forwarder(
                        ip, int(port["port"]), self._picker(namespace, name, port)
                    )
        for key in set(self.forwarders) - wanted:
            self.forwarders.pop(key).close()


def _container_port(pod: dict[str, Any], target: Any) -> int | None:
    if isinstance(target, int) or str(target).isdigit():
        return int(target)
    for container in pod["spec"]["containers"]:
        for declared in container.get("ports") or []:
            if declared.get("name") == target:
                return int(declared["containerPort"])
    return None
