"""The REST face of the in-test API server: a Starlette app speaking the Kubernetes API
paths, verbs and content types that the official ``kubernetes`` client (typed APIs,
``DynamicClient``, ``kubernetes.watch``) and ``kubectl`` use.

* discovery: ``/version``, ``/api``, ``/api/v1``, ``/apis``, ``/apis/<g>``, ``/apis/<g>/<v>``;
* ``GET`` list (label/field selectors) and ``?watch=true`` streams (JSON lines from a
  ``resourceVersion``, or synthetic ``ADDED`` events for what exists when none is given;
  410 ``Expired`` when too old), ``GET`` one, ``POST`` create, ``PUT`` replace,
  ``PATCH`` (apply, merge, strategic merge), ``DELETE`` one (``propagationPolicy``)
  and ``DELETE`` collection;
* the ``status`` and ``scale`` subresources.
"""

from __future__ import annotations

import asyncio
import bisect
import json
from dataclasses import dataclass
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from . import patches
from .resources import PATH, Catalogue, ResourceType
from .selectors import field_selector, label_selector
from .store import ApiError, Store, status_body

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
DEFAULT_WATCH_SECONDS = 1800.0


@dataclass
class Request:
    """One request as the server saw it (tests assert on these)."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: Any
    status: int = 0


class Api:
    def __init__(self, store: Store, catalogue: Catalogue) -> None:
        self.store = store
        self.catalogue = catalogue
        self.requests: list[Request] = []
        #: (method, path regex, status) answered once each, in order of match
        self.fail_next: list[tuple[str, str, int]] = []
        self.watchers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Any]]] = set()
        self.app = Starlette(
            routes=[
                Route("/version", self.version),
                Route("/api", self.core),
                Route("/apis", self.groups),
                Route(
                    "/{path:path}", self.dispatch, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]
                ),
            ]
        )

    def close_watches(self) -> None:
        for loop, queue in list(self.watchers):
            loop.call_soon_threadsafe(queue.put_nowait, None)

    # -- discovery ----------------------------------------------------------------------
    async def version(self, request: HttpRequest) -> Response:
        return JSONResponse(
            {
                "major": "1",
                "minor": "32",
                "gitVersion": "v1.32.0-eventfn-simulated",
                "platform": "linux/amd64",
            }
        )

    async def core(self, request: HttpRequest) -> Response:
        return JSONResponse(self.catalogue.core_versions())

    async def groups(self, request: HttpRequest) -> Response:
        return JSONResponse(self.catalogue.groups())

    def _discovery(self, path: str) -> dict[str, Any] | None:
        parts = path.strip("/").split("/")
        if parts == ["api", "v1"]:
            return self.catalogue.resource_list("", "v1")
        if len(parts) == 2 and parts[0] == "apis":
            return self.catalogue.group(parts[1])
        if len(parts) == 3 and parts[0] == "apis":
            return self.catalogue.resource_list(parts[1], parts[2])
        return None

    # -- resources ----------------------------------------------------------------------
    async def dispatch(self, request: HttpRequest) -> Response:
        path = request.url.path
        query = dict(request.query_params)
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        raw = await request.body()
        try:
            body = _parse(raw, content_type)
        except ValueError as error:
            return _error(ApiError(400, f"the request body is not valid: {error}"))
        record = Request(request.method, path, query, content_type, body)
        self.requests.append(record)
        response = self._injected(record)
        if response is None:
            response = await self._serve(request, record)
        record.status = response.status_code
        return response

    def _injected(self, record: Request) -> Response | None:
        import re

        for index, (method, pattern, status) in enumerate(self.fail_next):
            if method == record.method and re.search(pattern, record.path):
                del self.fail_next[index]
                return JSONResponse(status_body(status, "injected"), status_code=status)
        return None

    async def _serve(self, request: HttpRequest, record: Request) -> Response:
        if record.method == "GET":
            discovery = self._discovery(record.path)
            if discovery is not None:
                return JSONResponse(discovery)
        match = PATH.match(record.path)
        if match is None:
            return _error(ApiError(404, "the server could not find the requested resource"))
        group = match["group"] or ""
        version = match["core"] or match["version"]
        rtype = self.catalogue.find(group, version, match["plural"])
        if rtype is None or (match["ns"] and not rtype.namespaced):
            return _error(ApiError(404, "the server could not find the requested resource"))
        namespace = match["ns"]
        manager = record.query.get("fieldManager") or _agent(request)
        try:
            if match["name"] is None:
                return await self._collection(request, record, rtype, namespace, manager)
            return self._one(record, rtype, namespace, match["name"], match["sub"], manager)
        except ApiError as error:
            return _error(error)

    async def _collection(
        self,
        request: HttpRequest,
        record: Request,
        rtype: ResourceType,
        namespace: str | None,
        manager: str,
    ) -> Response:
        labels = label_selector(record.query.get("labelSelector"))
        fields = field_selector(record.query.get("fieldSelector"))

        def match(obj: dict[str, Any]) -> bool:
            return labels(obj) and fields(obj)

        if record.method == "GET" and record.query.get("watch", "").lower() in ("true", "1"):
            return StreamingResponse(
                self._watch(rtype, namespace, record.query, match),
                media_type="application/json",
            )
        if record.method == "GET":
            items, version = self.store.list(rtype, namespace, match)
            return JSONResponse(
                {
                    "kind": f"{rtype.kind}List",
                    "apiVersion": rtype.api_version,
                    "metadata": {"resourceVersion": str(version)},
                    "items": items,
                }
            )
        if record.method == "POST":
            body = _object_body(record.body)
            body_ns = (body.get("metadata") or {}).get("namespace")
            if namespace and body_ns and body_ns != namespace:
                raise ApiError(
                    400,
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request",
                )
            return JSONResponse(self.store.create(rtype, namespace, body, manager), status_code=201)
        if record.method == "DELETE":
            items, _ = self.store.list(rtype, namespace, match)
            for item in items:
                self.store.delete(
                    rtype,
                    item["metadata"].get("namespace"),
                    item["metadata"]["name"],
                    _propagation(record),
                )
            return JSONResponse(
                {
                    "kind": f"{rtype.kind}List",
                    "apiVersion": rtype.api_version,
                    "metadata": {},
                    "items": items,
                }
            )
        raise ApiError(405, f"{record.method} is not allowed on a collection")

    def _one(
        self,
        record: Request,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        sub: str | None,
        manager: str,
    ) -> Response:
        if sub is not None and sub not in rtype.subresources:
            raise ApiError(404, f"the server could not find the requested resource ({sub})")
        method, body = record.method, record.body
        if method == "GET":
            obj = self.store.get(rtype, namespace, name)
            return JSONResponse(_scale(obj) if sub == "scale" else obj)
        if method == "DELETE":
            if sub is not None:
                raise ApiError(405, "DELETE is not allowed on a subresource")
            deleted = self.store.delete(
                rtype, namespace, name, _propagation(record), _grace(record)
            )
            if deleted is not None:
                return JSONResponse(deleted)
            return JSONResponse(
                {**status_body(200, ""), "details": {"name": name, "kind": rtype.plural}}
            )
        if method == "PUT":
            wanted = _object_body(body)
            if (wanted.get("metadata") or {}).get("name", name) != name:
                raise ApiError(400, "the name of the object does not match the name on the URL")
            rv = (wanted.get("metadata") or {}).get("resourceVersion")
            obj = self.store.update(
                rtype,
                namespace,
                name,
                _replacer(wanted, sub),
                manager=manager,
                subresource=_stored_sub(sub),
                precondition=rv or None,
            )
            return JSONResponse(_scale(obj) if sub == "scale" else obj)
        if method != "PATCH":
            raise ApiError(405, f"{method} is not allowed")
        if record.content_type == APPLY:
            if not record.query.get("fieldManager"):
                raise ApiError(422, "PATCH, application/apply-patch+yaml: fieldManager is required")
            if sub == "scale":
                raise ApiError(415, "apply to the scale subresource is not supported here")
            code, obj = self.store.apply(
                rtype,
                namespace,
                name,
                _object_body(body),
                record.query["fieldManager"],
                record.query.get("force", "").lower() == "true",
                sub,
            )
            return JSONResponse(obj, status_code=code)
        if record.content_type not in (MERGE, STRATEGIC):
            raise ApiError(
                415, f"the body of the request was in an unknown format ({record.content_type})"
            )
        patch = _object_body(body)
        rv = (patch.get("metadata") or {}).get("resourceVersion")
        merge = (
            patches.merge_patch if record.content_type == MERGE else patches.strategic_merge_patch
        )
        obj = self.store.update(
            rtype,
            namespace,
            name,
            _patcher(patch, merge, sub),
            manager=manager,
            subresource=_stored_sub(sub),
            precondition=rv or None,
        )
        return JSONResponse(_scale(obj) if sub == "scale" else obj)

    async def _watch(
        self, rtype: ResourceType, namespace: str | None, query: dict[str, str], match: Any
    ) -> Any:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        since_raw = query.get("resourceVersion") or ""
        store = self.store

        def listener(event: Any) -> None:
            if store.belongs(event[2], rtype, namespace):
                loop.call_soon_threadsafe(queue.put_nowait, event)

        with store.cond:
            if since_raw not in ("", "0") and int(since_raw) < store.oldest_watchable:
                error = status_body(410, f"too old resource version: {since_raw}", "Expired")
                yield _line("ERROR", error)
                return
            if since_raw in ("", "0"):
                items, _ = store.list(rtype, namespace, match)
                backlog = [(0, "ADDED", "", item) for item in items]
            else:
                since = int(since_raw)
                start = bisect.bisect_right([e[0] for e in store.events], since)
                backlog = [e for e in store.events[start:] if store.belongs(e[2], rtype, namespace)]
            store.listeners.append(listener)
        self.watchers.add((loop, queue))
        deadline = loop.time() + float(query.get("timeoutSeconds") or DEFAULT_WATCH_SECONDS)
        try:
            for _, kind, _, obj in backlog:
                if match(obj):
                    yield _line(kind, obj)
            while (remaining := deadline - loop.time()) > 0:
                try:
                    event = await asyncio.wait_for(queue.get(), remaining)
                except TimeoutError:
                    break
                if event is None:
                    break
                if match(event[3]):
                    yield _line(event[1], event[3])
        finally:
            with store.cond:
                if listener in store.listeners:
                    store.listeners.remove(listener)
            self.watchers.discard((loop, queue))


def _line(kind: str, obj: dict[str, Any]) -> bytes:
    return (json.dumps({"type": kind, "object": obj}) + "\n").encode()


def _parse(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    if "yaml" in content_type:
        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError as error:
            raise ValueError(str(error)) from None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(str(error)) from None


def _object_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be an object")
    return body


def _agent(request: HttpRequest) -> str:
    """The default field manager: the User-Agent's program name, as in Kubernetes."""
    agent = request.headers.get("user-agent", "unknown")
    return agent.split("/")[0] or "unknown"


def _propagation(record: Request) -> str | None:
    body = record.body if isinstance(record.body, dict) else {}
    return body.get("propagationPolicy") or record.query.get("propagationPolicy")


def _grace(record: Request) -> int | None:
    body = record.body if isinstance(record.body, dict) else {}
    value = body.get("gracePeriodSeconds", record.query.get("gracePeriodSeconds"))
    return None if value is None else int(value)


def _stored_sub(sub: str | None) -> str | None:
    return "status" if sub == "status" else None


def _replacer(wanted: dict[str, Any], sub: str | None) -> Any:
    def change(current: dict[str, Any]) -> dict[str, Any]:
        if sub == "scale":
            current.setdefault("spec", {})["replicas"] = (wanted.get("spec") or {}).get(
                "replicas", 0
            )
            return current
        if sub == "status":
            current["status"] = wanted.get("status")
            return current
        return wanted

    return change


def _patcher(patch: dict[str, Any], merge: Any, sub: str | None) -> Any:
    def change(current: dict[str, Any]) -> dict[str, Any]:
        clean = {
            **patch,
            "metadata": {
                k: v for k, v in (patch.get("metadata") or {}).items() if k != "resourceVersion"
            },
        }
        if not clean["metadata"]:
            del clean["metadata"]
        if sub == "scale":
            scale = merge(_scale(current), clean)
            current.setdefault("spec", {})["replicas"] = (scale.get("spec") or {}).get(
                "replicas", 0
            )
            return current
        return merge(current, clean)

    return change


def _scale(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
            "resourceVersion": meta["resourceVersion"],
            "creationTimestamp": meta.get("creationTimestamp"),
        },
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items())),
        },
    }


def _error(error: ApiError) -> Response:
    return JSONResponse(status_body(error.code, str(error), error.reason), status_code=error.code)
