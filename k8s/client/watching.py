"""List + watch with resync: a stream of changes to one kind in one namespace.

Used by the operator (Functions) and the bridge's Subscription source. Lists, then
watches from the list's ``resourceVersion`` (``timeoutSeconds`` per watch request, so
``stop`` is noticed); relists every ``resync_seconds`` and whenever the watch expires
(410 Gone). A relist yields ``DELETED`` for objects that vanished meanwhile and one
``RESYNCED`` change. API failures are logged and retried after ``retry_seconds``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any, Literal

import structlog
from kubernetes import client
from kubernetes.watch.watch import iter_resp_lines
from pydantic import BaseModel, ConfigDict

from k8s.client.calling import call
from k8s.client.reading import list_objects
from k8s.client.resources import Kind
from k8s.errors import ApiError

__all__ = ["Change", "watch_objects"]

log = structlog.get_logger("eventfn.k8s.watch")


class Change(BaseModel):
    """One change: ``name`` (empty for ``RESYNCED``), the object (``None`` when deleted),
    and ``objects``, every object known after the change, by name."""

    model_config = ConfigDict(frozen=True)

    type: Literal["ADDED", "MODIFIED", "DELETED", "RESYNCED"]
    name: str = ""
    object: dict[str, Any] | None = None
    objects: dict[str, dict[str, Any]]


class _Expired(Exception):
    """The watch's resourceVersion is too old (410): relist."""


def watch_objects(
    api: client.ApiClient,
    kind: Kind,
    namespace: str,
    stop: threading.Event,
    *,
    resync_seconds: float = 300.0,
    watch_timeout: int = 60,
    retry_seconds: float = 2.0,
    label_selector: str | None = None,
) -> Iterator[Change]:
    """Yield changes until ``stop`` is set."""
    cache: dict[str, dict[str, Any]] = {}
    while not stop.is_set():
        try:
            items, version = list_objects(api, kind, namespace, label_selector)
        except ApiError as exc:
            log.warning("list failed; retrying", kind=kind.plural, error=str(exc))
            stop.wait(retry_seconds)
            continue
        fresh = {item["metadata"]["name"]: item for item in items}
        for name in [name for name in cache if name not in fresh]:
            del cache[name]
            yield Change(type="DELETED", name=name, object=None, objects=dict(cache))
        cache = fresh
        yield Change(type="RESYNCED", objects=dict(cache))
        resync_at = time.monotonic() + resync_seconds
        try:
            while not stop.is_set() and time.monotonic() < resync_at:
                remaining = max(1, min(watch_timeout, int(resync_at - time.monotonic())))
                for change, seen in _watch_once(
                    api, kind, namespace, version, remaining, cache, label_selector
                ):
                    version = seen
                    yield change
                    if stop.is_set():
                        return
        except _Expired:
            log.info("watch expired; relisting", kind=kind.plural)
        except ApiError as exc:
            log.warning("watch failed; relisting", kind=kind.plural, error=str(exc))
            stop.wait(retry_seconds)


def _watch_once(
    api: client.ApiClient,
    kind: Kind,
    namespace: str,
    version: str,
    timeout: int,
    cache: dict[str, dict[str, Any]],
    label_selector: str | None,
) -> Iterator[tuple[Change, str]]:
    query = [
        ("watch", "true"),
        ("resourceVersion", version),
        ("timeoutSeconds", str(timeout)),
        ("allowWatchBookmarks", "true"),
    ]
    if label_selector:
        query.append(("labelSelector", label_selector))
    response = call(
        api, "GET", kind.path(namespace), query=query, stream=True, timeout=timeout + 10
    )
    try:
        for line in iter_resp_lines(response):
            if not line.strip():
                continue
            event = json.loads(line)
            kind_of_event = event.get("type")
            obj: dict[str, Any] = event.get("object") or {}
            if kind_of_event == "ERROR":
                if obj.get("code") == 410:
                    raise _Expired()
                raise ApiError(kind.path(namespace), obj.get("code"), str(obj.get("message")))
            version = str((obj.get("metadata") or {}).get("resourceVersion", version))
            if kind_of_event == "BOOKMARK":
                continue
            name = obj["metadata"]["name"]
            obj.setdefault("apiVersion", kind.api_version)
            obj.setdefault("kind", kind.kind)
            if kind_of_event == "DELETED":
                cache.pop(name, None)
                yield Change(type="DELETED", name=name, object=None, objects=dict(cache)), version
            else:
                cache[name] = obj
                yield (
                    Change(type=kind_of_event, name=name, object=obj, objects=dict(cache)),
                    version,
                )
    finally:
        response.release_conn()
