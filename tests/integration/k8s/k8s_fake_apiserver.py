"""An in-test Kubernetes API server on 127.0.0.1: the REST paths eventfn's operator,
autoscaler and Subscription source use, served to the real ``kubernetes`` client.

In memory: namespaced objects of any group/version/plural, with uid, resourceVersion,
generation (bumped when ``spec`` changes), creationTimestamp. Speaks:

* ``GET`` list (``watch=true`` streams JSON lines until ``timeoutSeconds``, starting
  after ``resourceVersion``; too old a version answers a 410 ERROR event), ``GET`` one,
  ``GET``/``PATCH`` of the ``status`` and (Deployments) ``scale`` subresources;
* ``PATCH`` with ``application/apply-patch+yaml`` (server-side apply: create or merge;
  ``fieldManager`` required) or ``application/merge-patch+json`` (RFC 7386, with
  optimistic concurrency on ``metadata.resourceVersion``: 409 when stale);
* ``DELETE`` (finalizers hold the object with a ``deletionTimestamp`` until removed).

Every request is recorded; ``fail_next`` injects error answers.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kubernetes import client

PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"/namespaces/(?P<ns>[^/]+)/(?P<plural>[^/]+)(?:/(?P<name>[^/]+)(?:/(?P<sub>[^/]+))?)?$"
)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: Any
    status: int = 0


@dataclass
class FakeApiServer:
    objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    events: list[tuple[int, str, str, dict[str, Any]]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    #: (method, path regex, status) answered once each, in order of match.
    fail_next: list[tuple[str, str, int]] = field(default_factory=list)
    oldest_watchable: int = 0

    def __post_init__(self) -> None:
        self._rv = itertools.count(1)
        self.version = 0
        self.cond = threading.Condition()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server._handle(self, "GET")

            def do_PATCH(self):
                server._handle(self, "PATCH")

            def do_DELETE(self):
                server._handle(self, "DELETE")

            def do_POST(self):
                server._handle(self, "POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- lifecycle ----------------------------------------------------------------------
    def __enter__(self) -> FakeApiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def client(self) -> client.ApiClient:
        configuration = client.Configuration(host=f"http://127.0.0.1:{self.port}")
        configuration.retries = False
        return client.ApiClient(configuration)

    # -- direct access for tests (what users or controllers would do) --------------------
    def put(self, prefix: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or replace an object at collection path ``prefix`` (as kubectl would)."""
        with self.cond:
            name = obj["metadata"]["name"]
            existing = self.objects.get((prefix, name))
            stored = copy.deepcopy(obj)
            meta = stored.setdefault("metadata", {})
            if existing is None:
                self._created(meta)
                kind = "ADDED"
            else:
                old = existing["metadata"]
                for key in ("uid", "creationTimestamp", "finalizers", "generation"):
                    if key in old:
                        meta.setdefault(key, old[key])
                stored.setdefault("status", existing.get("status"))
                if stored.get("spec") != existing.get("spec"):
                    meta["generation"] = int(old.get("generation", 1)) + 1
                kind = "MODIFIED"
            self._store(prefix, stored, kind)
            return copy.deepcopy(stored)

    def obj(self, prefix: str, name: str) -> dict[str, Any] | None:
        with self.cond:
            found = self.objects.get((prefix, name))
            return copy.deepcopy(found)

    def remove(self, prefix: str, name: str) -> None:
        with self.cond:
            self._delete(prefix, name)

    def set_fields(self, prefix: str, name: str, **paths: Any) -> None:
        """Set fields like ``status={"readyReplicas": 2}`` (a controller's work)."""
        with self.cond:
            stored = copy.deepcopy(self.objects[(prefix, name)])
            for key, value in paths.items():
                stored[key] = _merge(stored.get(key) or {}, value)
            self._store(prefix, stored, "MODIFIED")

    def calls(self, method: str | None = None, contains: str = "") -> list[Request]:
        return [
            r
            for r in list(self.requests)
            if (method is None or r.method == method) and contains in r.path
        ]

    # -- state --------------------------------------------------------------------------
    def _created(self, meta: dict[str, Any]) -> None:
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("generation", 1)
        meta.setdefault("creationTimestamp", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))

    def _store(self, prefix: str, obj: dict[str, Any], kind: str) -> None:
        self.version = next(self._rv)
        obj["metadata"]["resourceVersion"] = str(self.version)
        self.objects[(prefix, obj["metadata"]["name"])] = obj
        self.events.append((self.version, kind, prefix, copy.deepcopy(obj)))
        self.cond.notify_all()

    def _delete(self, prefix: str, name: str) -> None:
        obj = self.objects.pop((prefix, name))
        self.version = next(self._rv)
        obj["metadata"]["resourceVersion"] = str(self.version)
        self.events.append((self.version, "DELETED", prefix, copy.deepcopy(obj)))
        self.cond.notify_all()

    # -- HTTP ---------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        content_type = handler.headers.get("Content-Type", "")
        request = Request(method, parts.path, query, content_type, body)
        self.requests.append(request)
        for index, (m, pattern, status) in enumerate(self.fail_next):
            if m == method and re.search(pattern, parts.path):
                del self.fail_next[index]
                request.status = status
                return _send(handler, status, _status_body(status, "injected"))
        match = PATH.match(parts.path)
        if match is None:
            request.status = 404
            return _send(handler, 404, _status_body(404, "NotFound"))
        prefix = parts.path[: match.end("plural")]
        if match["name"] is None:
            if query.get("watch") == "true":
                request.status = 200
                return self._watch(handler, prefix, query)
            with self.cond:
                items = [
                    copy.deepcopy(o) for (p, _), o in sorted(self.objects.items()) if p == prefix
                ]
                listing = {
                    "kind": "List",
                    "apiVersion": "v1",
                    "metadata": {"resourceVersion": str(self.version)},
                    "items": items,
                }
            request.status = 200
            return _send(handler, 200, listing)
        with self.cond:
            status, answer = self._object(
                method, prefix, match["name"], match["sub"], query, body, content_type
            )
        request.status = status
        _send(handler, status, answer)

    def _object(self, method, prefix, name, sub, query, body, content_type):  # noqa: PLR0911, PLR0912 - one dispatcher for every verb of the fake
        existing = self.objects.get((prefix, name))
        if method == "GET":
            if existing is None:
                return 404, _status_body(404, "NotFound")
            if sub == "scale":
                return 200, _scale(existing)
            return 200, copy.deepcopy(existing)
        if method == "DELETE":
            if existing is None:
                return 404, _status_body(404, "NotFound")
            if existing["metadata"].get("finalizers"):
                stored = copy.deepcopy(existing)
                stored["metadata"].setdefault(
                    "deletionTimestamp", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                )
                self._store(prefix, stored, "MODIFIED")
                return 200, copy.deepcopy(stored)
            self._delete(prefix, name)
            return 200, _status_body(200, "Success")
        if method != "PATCH":
            return 405, _status_body(405, "MethodNotAllowed")
        if content_type == "application/apply-patch+yaml":
            if not query.get("fieldManager"):
                return 400, _status_body(400, "fieldManager is required for apply")
            if existing is None:
                stored = copy.deepcopy(body)
                self._created(stored["metadata"])
                if stored.get("kind") == "Deployment":
                    stored["spec"].setdefault("replicas", 1)  # the API's default
                self._store(prefix, stored, "ADDED")
                return 201, copy.deepcopy(stored)
            stored = _merge(copy.deepcopy(existing), body)
            if stored.get("spec") != existing.get("spec"):
                stored["metadata"]["generation"] = int(existing["metadata"]["generation"]) + 1
            self._store(prefix, stored, "MODIFIED")
            return 200, copy.deepcopy(stored)
        if existing is None:
            return 404, _status_body(404, "NotFound")
        wanted_rv = ((body or {}).get("metadata") or {}).get("resourceVersion")
        if wanted_rv is not None and wanted_rv != existing["metadata"]["resourceVersion"]:
            return 409, _status_body(409, "Conflict: the object has been modified")
        stored = copy.deepcopy(existing)
        if sub == "status":
            stored["status"] = _merge(stored.get("status") or {}, body.get("status") or {})
        elif sub == "scale":
            stored["spec"]["replicas"] = body["spec"]["replicas"]
        else:
            patch = copy.deepcopy(body)
            patch.get("metadata", {}).pop("resourceVersion", None)
            stored = _merge(stored, patch)
            if stored["metadata"].get("deletionTimestamp") and not stored["metadata"].get(
                "finalizers"
            ):
                self._store(prefix, stored, "MODIFIED")
                self._delete(prefix, name)
                return 200, copy.deepcopy(stored)
        self._store(prefix, stored, "MODIFIED")
        return 200, _scale(stored) if sub == "scale" else copy.deepcopy(stored)

    def _watch(self, handler, prefix: str, query: dict[str, str]) -> None:
        since = int(query.get("resourceVersion") or 0)
        deadline = time.monotonic() + float(query.get("timeoutSeconds") or 5)
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Connection", "close")
        handler.end_headers()
        if since < self.oldest_watchable:
            line = {
                "type": "ERROR",
                "object": _status_body(410, "Expired: too old resource version"),
            }
            handler.wfile.write((json.dumps(line) + "\n").encode())
            return
        sent = since
        while time.monotonic() < deadline:
            with self.cond:
                pending = [e for e in self.events if e[0] > sent and e[2] == prefix]
                if not pending:
                    self.cond.wait(timeout=min(0.1, max(0.0, deadline - time.monotonic())))
                    continue
            for version, kind, _, obj in pending:
                line = json.dumps({"type": kind, "object": obj}) + "\n"
                try:
                    handler.wfile.write(line.encode())
                    handler.wfile.flush()
                except OSError:
                    return
                sent = version
        handler.close_connection = True


def _merge(base: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (null removes; lists replace)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge(out.get(key), value)
    return out


def _scale(deployment: dict[str, Any]) -> dict[str, Any]:
    meta = deployment["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta.get("namespace"),
            "resourceVersion": meta["resourceVersion"],
        },
        "spec": {"replicas": deployment["spec"].get("replicas", 0)},
        "status": {"replicas": (deployment.get("status") or {}).get("replicas", 0)},
    }


def _status_body(code: int, message: str) -> dict[str, Any]:
    reasons = {
        404: "NotFound",
        409: "Conflict",
        410: "Expired",
        500: "InternalError",
        503: "ServiceUnavailable",
    }
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Success" if code < 400 else "Failure",
        "message": message,
        "reason": reasons.get(code, ""),
        "code": code,
    }


def _send(handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
