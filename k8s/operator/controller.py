"""The operator's I/O shell: Function resources -> workloads, status, cleanup.

Public API::

    operator = Operator(api_client, "eventfn", keda=False, autoscaler=scaler)
    operator.reconcile("resize-image")   # one Function, now (tests, and the watch loop)
    operator.run(stop_event)             # watch Functions (with resync) until stopped

For each Function: add the :data:`~k8s.operator.plan.FINALIZER`, server-side apply the
planned workload (:mod:`k8s.operator.plan`), remove a stale ScaledObject it owns, read
the Deployment back and write ``.status`` (:mod:`k8s.operator.status`) when it changed.
A 409 on a write re-reads the Function and starts over (up to ``conflict_retries``).
A Function being deleted gets its workload deleted explicitly (whatever an orphaning
delete would leave) before the finalizer is removed. The Kubernetes-mode autoscaler,
when given, is kept in sync with the valid Functions. Called by ``eventfn operator``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from kubernetes import client

from broker_bridge.health import Health
from k8s.autoscaler.loop import Autoscaler
from k8s.autoscaler.target import ScaledFunction
from k8s.client import (
    DEPLOYMENTS,
    FUNCTIONS,
    SCALED_OBJECTS,
    SERVICE_ACCOUNTS,
    apply,
    delete,
    get,
    patch_finalizers,
    patch_status,
    watch_objects,
)
from k8s.errors import ApiClientError, ApiConflict, ApiError
from k8s.operator.plan import FINALIZER, is_owned_by, plan_function
from k8s.operator.status import function_status, same_status
from k8s.render import RenderSettings

__all__ = ["Operator", "utc_now"]

log = structlog.get_logger("eventfn.operator")


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Operator:
    """Reconciles the Functions of one namespace."""

    def __init__(
        self,
        api: client.ApiClient,
        namespace: str,
        *,
        keda: bool = False,
        settings: RenderSettings | None = None,
        autoscaler: Autoscaler | None = None,
        conflict_retries: int = 5,
        resync_seconds: float = 300.0,
        status_interval: float = 10.0,
        watch_timeout: int = 60,
        now: Callable[[], str] = utc_now,
        health: Health | None = None,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.keda = keda
        self.settings = (settings or RenderSettings()).model_copy(update={"namespace": namespace})
        self.autoscaler = autoscaler
        self.conflict_retries = conflict_retries
        self.resync_seconds = resync_seconds
        self.status_interval = status_interval
        self.watch_timeout = watch_timeout
        self._now = now
        #: liveness: the status loop beats every ``status_interval``; readiness: the
        #: Functions were listed at least once
        self.health = health or Health(stale_after=max(60.0, 3 * status_interval))
        self._lock = threading.Lock()
        self._scaled: dict[str, ScaledFunction] = {}

    # -- one Function ------------------------------------------------------------------
    def reconcile(self, name: str) -> dict[str, Any] | None:
        """Converge one Function; returns the status written (``None``: nothing to do)."""
        with self._lock:
            for _attempt in range(self.conflict_retries):
                try:
                    return self._reconcile(name)
                except ApiConflict as exc:
                    log.info("conflict; re-reading", function=name, error=str(exc))
            raise ApiConflict(f"functions/{name}", 409, "still conflicting after retries")

    def _reconcile(self, name: str) -> dict[str, Any] | None:
        bound = log.bind(function=name)
        resource = get(self.api, FUNCTIONS, self.namespace, name)
        if resource is None:
            self._unscale(name)
            return None
        meta = resource["metadata"]
        if meta.get("deletionTimestamp"):
            self._finalize(resource)
            return None
        finalizers = list(meta.get("finalizers") or [])
        if FINALIZER not in finalizers:
            resource = patch_finalizers(
                self.api,
                FUNCTIONS,
                self.namespace,
                name,
                [*finalizers, FINALIZER],
                meta["resourceVersion"],
            )
        plan = plan_function(resource, self.settings, keda=self.keda)
        invalid = plan.problem
        apply_failed: str | None = None
        if plan.spec is None:
            bound.warning("invalid Function", problems=invalid)
            self._unscale(name)
        else:
            try:
                for document in plan.apply:
                    apply(self.api, document)
                if plan.remove_stale_scaled_object:
                    self._remove_stale_scaled_object(resource)
            except ApiClientError as exc:
                if isinstance(exc, ApiConflict):
                    raise
                apply_failed = str(exc)
                bound.warning("workload refused", error=apply_failed)
            else:
                self._scale(ScaledFunction.from_spec(plan.spec))
        return self._write_status(resource, invalid=invalid, apply_failed=apply_failed)

    def refresh_status(self, name: str) -> dict[str, Any] | None:
        """Re-read the Deployment and write the status if it changed (replicas move
        without the Function changing)."""
        with self._lock:
            for _attempt in range(self.conflict_retries):
                resource = get(self.api, FUNCTIONS, self.namespace, name)
                if resource is None or resource["metadata"].get("deletionTimestamp"):
                    return None
                previous = resource.get("status") or {}
                problem = next(
                    (
                        c.get("message")
                        for c in previous.get("conditions") or []
                        if c.get("type") == "Ready" and c.get("reason") == "InvalidSpec"
                    ),
                    None,
                )
                try:
                    return self._write_status(resource, invalid=problem, apply_failed=None)
                except ApiConflict:
                    continue
            return None

    def _write_status(
        self, resource: dict[str, Any], *, invalid: str | None, apply_failed: str | None
    ) -> dict[str, Any]:
        name = resource["metadata"]["name"]
        deployment = None if invalid else get(self.api, DEPLOYMENTS, self.namespace, name)
        backlog = None
        if self.autoscaler is not None:
            snapshot = self.autoscaler.snapshot(name)
            if snapshot is not None:
                backlog = snapshot.observation.work
        wanted = function_status(
            resource,
            deployment,
            now=self._now(),
            backlog=backlog,
            invalid=invalid,
            apply_failed=apply_failed,
        )
        if same_status(resource.get("status"), wanted):
            return wanted
        patch_status(
            self.api,
            FUNCTIONS,
            self.namespace,
            name,
            wanted,
            resource["metadata"]["resourceVersion"],
        )
        log.info(
            "status written",
            function=name,
            conditions={c["type"]: (c["status"], c["reason"]) for c in wanted["conditions"]},
        )
        return wanted

    def _remove_stale_scaled_object(self, resource: dict[str, Any]) -> None:
        name = resource["metadata"]["name"]
        try:
            existing = get(self.api, SCALED_OBJECTS, self.namespace, name)
        except ApiClientError:  # KEDA's CRD not installed, or not allowed: nothing of ours
            return
        if is_owned_by(existing, resource):
            delete(self.api, SCALED_OBJECTS, self.namespace, name)
            log.info("stale ScaledObject removed (KEDA mode is off)", function=name)

    def _finalize(self, resource: dict[str, Any]) -> None:
        meta = resource["metadata"]
        name = meta["name"]
        self._unscale(name)
        for kind in (SCALED_OBJECTS, DEPLOYMENTS, SERVICE_ACCOUNTS):
            try:
                delete(self.api, kind, self.namespace, name)
            except ApiClientError as exc:
                if kind is not SCALED_OBJECTS:  # no KEDA CRD: nothing to delete
                    raise
                log.debug("no ScaledObject to delete", function=name, error=str(exc))
        finalizers = [f for f in meta.get("finalizers") or [] if f != FINALIZER]
        if FINALIZER in (meta.get("finalizers") or []):
            patch_finalizers(
                self.api, FUNCTIONS, self.namespace, name, finalizers, meta["resourceVersion"]
            )
        log.info("function deleted; workload removed", function=name)

    # -- the autoscaler's function set ---------------------------------------------------
    def _scale(self, function: ScaledFunction) -> None:
        if self._scaled.get(function.name) != function:
            self._scaled[function.name] = function
            self._sync_autoscaler()

    def _unscale(self, name: str) -> None:
        if self._scaled.pop(name, None) is not None:
            self._sync_autoscaler()

    def _sync_autoscaler(self) -> None:
        if self.autoscaler is not None:
            self.autoscaler.set_functions(self._scaled.values())

    # -- the loop ------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Watch Functions and reconcile each change; refresh every status each
        ``status_interval`` seconds in a second thread."""
        self.health.beat("operator")
        refresher = threading.Thread(
            target=self._refresh_loop, args=(stop,), name="eventfn-status", daemon=True
        )
        refresher.start()
        try:
            for change in watch_objects(
                self.api,
                FUNCTIONS,
                self.namespace,
                stop,
                resync_seconds=self.resync_seconds,
                watch_timeout=self.watch_timeout,
            ):
                if change.type == "RESYNCED":
                    self.health.set_ready("functions", True)
                names = [change.name] if change.name else sorted(change.objects)
                for name in names:
                    self._safely(self.reconcile, name)
        finally:
            stop.set()
            refresher.join(timeout=30)
            self.health.forget("operator")

    def _refresh_loop(self, stop: threading.Event) -> None:
        while not stop.wait(self.status_interval):
            self.health.beat("operator")
            for name in sorted(self._scaled):
                self._safely(self.refresh_status, name)

    def _safely(self, step: Callable[[str], object], name: str) -> None:
        try:
            step(name)
        except ApiError as exc:  # retried at the next change, status pass or resync
            log.warning("reconcile failed", function=name, error=str(exc))
