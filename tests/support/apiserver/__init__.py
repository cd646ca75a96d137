"""An in-test Kubernetes API server: real REST paths, served on loopback (or on
addresses the test created) to the real ``kubernetes`` client and ``kubectl``.

It is a simulation of the API server's contract, not of a cluster: objects live in
memory (:mod:`.store`), types come from a built-in catalogue plus CRDs (the shipped
YAMLs are registered at start; :mod:`.resources`), changes follow the API server's
rules including server-side apply field ownership (:mod:`.patches`) and garbage
collection, and :mod:`.http` serves discovery, CRUD, watch and subresources. No
controllers run here: the pod runner in ``tests/cluster`` plays those.

    with ApiServer(namespaces=["eventfn"]) as api:
        dynamic = DynamicClient(api.client())
"""

from __future__ import annotations

import copy
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import uvicorn
import yaml
from kubernetes import client

from .http import Api, Request
from .keda import KEDA_CRDS
from .resources import PATH, Catalogue, ResourceType
from .store import ApiError, Store

__all__ = ["KEDA_CRDS", "SHIPPED_CRDS", "ApiError", "ApiServer", "Request", "ResourceType"]

REPO = Path(__file__).resolve().parents[3]
SHIPPED_CRDS = tuple(sorted((REPO / "k8s" / "manifests" / "base" / "crds").glob("*.yaml")))
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


class ApiServer:
    """Start with ``with``; ``client()`` gives an ``ApiClient`` for it.

    ``namespaces`` are created at start ("default" always is), ``crds`` are YAML paths or
    dicts registered at start (the shipped CRDs by default). ``hosts`` are the addresses
    to listen on (one port for all); ``tls=True`` serves HTTPS with a self-signed
    certificate (``ca_file``), as in-cluster clients require. ``service_ips`` is the
    pool Services get their ClusterIP from.
    """

    def __init__(
        self,
        namespaces: Iterable[str] = (),
        crds: Iterable[Path | dict[str, Any]] = SHIPPED_CRDS,
        hosts: Iterable[str] = ("127.0.0.1",),
        tls: bool = False,
        service_ips: Iterable[str] = (),
    ) -> None:
        self.catalogue = Catalogue()
        self.store = Store(self.catalogue)
        self.store.service_ips = list(service_ips)
        self.api = Api(self.store, self.catalogue)
        self.hosts = list(hosts)
        self._sockets = []
        port = 0
        for host in self.hosts:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]
            self._sockets.append(sock)
        self.port = port
        self._tmp = tempfile.TemporaryDirectory(prefix="efc-apiserver-")
        self.ca_file: str | None = None
        ssl: dict[str, Any] = {}
        if tls:
            self.ca_file, key = _self_signed(Path(self._tmp.name), self.hosts)
            ssl = {"ssl_certfile": self.ca_file, "ssl_keyfile": key}
        self.scheme = "https" if tls else "http"
        config = uvicorn.Config(
            self.api.app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=1,
            timeout_keep_alive=30,
            **ssl,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": self._sockets},
            daemon=True,
            name="efc-apiserver",
        )
        for name in ("default", *namespaces):
            self.create_namespace(name)
        for crd in crds:
            definition = yaml.safe_load(crd.read_text()) if isinstance(crd, Path) else crd
            self.store.create(self._rtype(CRDS), None, definition, "eventfn-tests")

    # -- lifecycle ----------------------------------------------------------------------
    def __enter__(self) -> ApiServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the in-test API server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self.api.close_watches()
        self._thread.join(timeout=10)
        for sock in self._sockets:
            sock.close()
        self._tmp.cleanup()

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.hosts[0]}:{self.port}"

    def client(self) -> client.ApiClient:
        configuration = client.Configuration(host=self.url)
        configuration.retries = False
        if self.ca_file:
            configuration.ssl_ca_cert = self.ca_file
        return client.ApiClient(configuration)

    def kubeconfig(self, path: Path, host: str | None = None) -> Path:
        """A kubeconfig file pointing at this server (for ``kubectl`` and pods)."""
        server = f"{self.scheme}://{host or self.hosts[0]}:{self.port}"
        cluster: dict[str, Any] = {"server": server}
        if self.ca_file:
            cluster["certificate-authority"] = self.ca_file
        path.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "efc", "cluster": cluster}],
                    "users": [{"name": "efc", "user": {"token": "efc-test-token"}}],
                    "contexts": [{"name": "efc", "context": {"cluster": "efc", "user": "efc"}}],
                    "current-context": "efc",
                }
            )
        )
        return path

    # -- what users, kubectl or controllers do, without HTTP ---------------------------
    @property
    def requests(self) -> list[Request]:
        return self.api.requests

    @property
    def fail_next(self) -> list[tuple[str, str, int]]:
        return self.api.fail_next

    @property
    def objects(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self.store.objects

    @property
    def cond(self) -> threading.Condition:
        return self.store.cond

    @property
    def oldest_watchable(self) -> int:
        return self.store.oldest_watchable

    @oldest_watchable.setter
    def oldest_watchable(self, value: int) -> None:
        self.store.oldest_watchable = value

    @property
    def version(self) -> int:
        return self.store.version

    def create_namespace(self, name: str) -> None:
        namespaces = self._rtype("/api/v1/namespaces")
        if ("/api/v1/namespaces", name) not in self.store.objects:
            self.store.create(
                namespaces,
                None,
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                "eventfn-tests",
            )

    def put(
        self,
        prefix: str,
        obj: dict[str, Any],
        manager: str = "eventfn-tests",
        validate: bool = True,
    ) -> dict[str, Any]:
        """Create or replace an object in collection ``prefix`` (as ``kubectl replace``).

        ``validate=False`` skips the CRD schema (what an older or looser CRD would let
        in), to test that a controller copes with it."""
        rtype, namespace = self._locate(prefix)
        name = obj["metadata"]["name"]
        with self.store.cond:
            self.store.validate = validate
            try:
                if (prefix, name) not in self.store.objects:
                    return self.store.create(rtype, namespace, obj, manager)
                body = copy.deepcopy(obj)
                body.get("metadata", {}).pop("resourceVersion", None)
                return self.store.update(rtype, namespace, name, lambda _: body, manager=manager)
            finally:
                self.store.validate = True

    def obj(self, prefix: str, name: str) -> dict[str, Any] | None:
        with self.store.cond:
            return copy.deepcopy(self.store.objects.get((prefix, name)))

    def items(self, prefix: str) -> list[dict[str, Any]]:
        with self.store.cond:
            return [
                copy.deepcopy(o) for (p, _), o in sorted(self.store.objects.items()) if p == prefix
            ]

    def remove(self, prefix: str, name: str, propagation: str | None = None) -> None:
        rtype, namespace = self._locate(prefix)
        self.store.delete(rtype, namespace, name, propagation)

    def set_fields(
        self, prefix: str, name: str, manager: str = "eventfn-tests", **fields: Any
    ) -> dict[str, Any]:
        """Merge top-level fields like ``status={"readyReplicas": 2}`` (a controller's work)."""
        from .patches import merge_patch

        rtype, namespace = self._locate(prefix)
        result: dict[str, Any] = {}
        for key, value in fields.items():
            result = self.store.update(
                rtype,
                namespace,
                name,
                lambda cur, k=key, v=value: {**cur, k: merge_patch(cur.get(k) or {}, v)},
                manager=manager,
                subresource="status" if key == "status" else None,
            )
        return result

    def calls(self, method: str | None = None, contains: str = "") -> list[Request]:
        return [
            r
            for r in list(self.requests)
            if (method is None or r.method == method) and contains in r.path
        ]

    def _rtype(self, prefix: str) -> ResourceType:
        return self._locate(prefix)[0]

    def _locate(self, prefix: str) -> tuple[ResourceType, str | None]:
        match = PATH.match(prefix)
        if match is None or match["name"] is not None:
            raise ValueError(f"not a collection path: {prefix}")
        rtype = self.catalogue.find(
            match["group"] or "", match["core"] or match["version"], match["plural"]
        )
        if rtype is None:
            raise ApiError(404, f"no resource type is served at {prefix}")
        return rtype, match["ns"]


def _self_signed(directory: Path, hosts: list[str]) -> tuple[str, str]:
    cert, key = directory / "apiserver.crt", directory / "apiserver.key"
    names = ",".join(["DNS:kubernetes.default.svc", "DNS:localhost", *(f"IP:{h}" for h in hosts)])
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=kubernetes",
            "-addext",
            f"subjectAltName={names}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)
