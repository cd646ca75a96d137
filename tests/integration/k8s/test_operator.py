"""The operator against an in-test API server speaking the real Kubernetes REST paths to
the real ``kubernetes`` client: create, update, scale, delete, a conflict, KEDA mode,
an invalid spec; the requests it sends and the status it writes are asserted."""

from __future__ import annotations

import threading

import pytest
from kubernetes import client
from support.apiserver import KEDA_CRDS, SHIPPED_CRDS, ApiServer

from k8s.actuators import DeploymentScaler, KubernetesActuator
from k8s.autoscaler import Autoscaler, ScaledFunction
from k8s.client import call
from k8s.metrics import QueueStats
from k8s.model import FunctionSpec
from k8s.operator import FINALIZER, Operator
from k8s.render import RenderSettings, function_resource
from k8s.scaling import ScalingPolicy
from worker_runtime.testing import wait_until

pytestmark = pytest.mark.integration

NS = "eventfn"
FUNCTIONS = f"/apis/eventfn.io/v1alpha1/namespaces/{NS}/functions"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
SERVICE_ACCOUNTS = f"/api/v1/namespaces/{NS}/serviceaccounts"
SCALED_OBJECTS = f"/apis/keda.sh/v1alpha1/namespaces/{NS}/scaledobjects"
NOW = "2026-01-01T00:00:00Z"


def function(name="resize-image", image="registry.example.com/fn:1", **scaling):
    spec = FunctionSpec(
        name=name,
        image=image,
        functions_module="shop.functions",
        scaling=ScalingPolicy(**scaling) if scaling else ScalingPolicy(),
    )
    return function_resource(spec, RenderSettings(namespace=NS))


class StaticMetrics:
    name = "static"
    sees_unacked = True

    def __init__(self):
        self.ready = 0

    def queue_stats(self, queue):
        return QueueStats(queue=queue, ready=self.ready, unacked=0)

    def close(self):
        pass


@pytest.fixture
def server():
    with ApiServer(namespaces=[NS], crds=[*SHIPPED_CRDS, *KEDA_CRDS]) as fake:
        yield fake


@pytest.fixture
def api(server):
    api_client = server.client()
    yield api_client
    api_client.close()


def conditions(obj):
    return {c["type"]: (c["status"], c["reason"]) for c in obj["status"]["conditions"]}


def test_create_applies_the_workload_owned_by_the_function_and_writes_status(server, api):
    created = server.put(FUNCTIONS, function())
    operator = Operator(api, NS, now=lambda: NOW)
    status = operator.reconcile("resize-image")

    applies = [r for r in server.requests if r.content_type == "application/apply-patch+yaml"]
    assert [r.path for r in applies] == [
        f"{SERVICE_ACCOUNTS}/resize-image",
        f"{DEPLOYMENTS}/resize-image",
    ]
    for request in applies:
        assert request.method == "PATCH"
        assert request.query == {"fieldManager": "eventfn-operator", "force": "true"}
        (owner,) = request.body["metadata"]["ownerReferences"]
        assert owner["uid"] == created["metadata"]["uid"]
        assert owner["kind"] == "Function"
        assert owner["controller"] is True
    deployment = server.obj(DEPLOYMENTS, "resize-image")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example.com/fn:1"
    assert container["args"] == ["worker", "resize-image", "--functions", "shop.functions"]
    assert "replicas" not in applies[1].body["spec"]  # owned by the autoscaler

    stored = server.obj(FUNCTIONS, "resize-image")
    assert stored["metadata"]["finalizers"] == [FINALIZER]
    assert stored["status"] == status
    assert status["observedGeneration"] == 1
    assert status["queue"] == "eventfn.fn.resize-image"
    assert status["desiredReplicas"] == 1  # the API's default until the autoscaler acts
    assert conditions(stored) == {
        "Ready": ("False", "WorkersStarting"),
        "Scaled": ("False", "ScalingUp"),
    }
    status_patches = server.calls("PATCH", "/status")
    assert len(status_patches) == 1
    assert status_patches[0].content_type == "application/merge-patch+json"
    assert status_patches[0].body["metadata"]["resourceVersion"]  # optimistic concurrency

    # the Deployment controller reports a ready worker: Ready and Scaled become True
    server.set_fields(DEPLOYMENTS, "resize-image", status={"replicas": 1, "readyReplicas": 1})
    operator.refresh_status("resize-image")
    stored = server.obj(FUNCTIONS, "resize-image")
    assert conditions(stored) == {
        "Ready": ("True", "Deployed"),
        "Scaled": ("True", "AtDesiredReplicas"),
    }
    # nothing changed: no write
    before = len(server.calls("PATCH", "/status"))
    operator.refresh_status("resize-image")
    assert len(server.calls("PATCH", "/status")) == before


def test_update_reapplies_and_observes_the_new_generation(server, api):
    server.put(FUNCTIONS, function())
    operator = Operator(api, NS, now=lambda: NOW)
    operator.reconcile("resize-image")
    server.put(FUNCTIONS, function(image="registry.example.com/fn:2"))
    status = operator.reconcile("resize-image")
    assert status["observedGeneration"] == 2
    image = server.obj(DEPLOYMENTS, "resize-image")["spec"]["template"]["spec"]["containers"][0]
    assert image["image"] == "registry.example.com/fn:2"
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["observedGeneration"] == 2


def test_scale_through_the_autoscaler_and_status_follows(server, api):
    server.put(FUNCTIONS, function(max_replicas=5, target_backlog=10, cooldown_seconds=0))
    metrics = StaticMetrics()
    actuator = KubernetesActuator(DeploymentScaler(client.AppsV1Api(api), NS))
    autoscaler = Autoscaler([], metrics, actuator, interval=1.0)
    operator = Operator(api, NS, autoscaler=autoscaler, now=lambda: NOW)
    operator.reconcile("resize-image")
    assert set(autoscaler.functions) == {"resize-image"}
    assert autoscaler.functions["resize-image"].policy.max_replicas == 5

    metrics.ready = 45
    decisions = autoscaler.reconcile_once(now=100.0)
    assert decisions["resize-image"].replicas == 5
    scale_path = f"{DEPLOYMENTS}/resize-image/scale"
    assert [r.method for r in server.calls(contains=scale_path)] == ["GET", "PATCH"]
    assert server.calls("PATCH", scale_path)[0].body == {"spec": {"replicas": 5}}
    assert server.obj(DEPLOYMENTS, "resize-image")["spec"]["replicas"] == 5

    server.set_fields(DEPLOYMENTS, "resize-image", status={"replicas": 5, "readyReplicas": 2})
    status = operator.refresh_status("resize-image")
    assert (status["desiredReplicas"], status["readyReplicas"], status["backlog"]) == (5, 2, 45)
    assert conditions(server.obj(FUNCTIONS, "resize-image"))["Scaled"] == ("False", "ScalingUp")

    metrics.ready = 0
    server.set_fields(DEPLOYMENTS, "resize-image", status={"replicas": 5, "readyReplicas": 5})
    assert autoscaler.reconcile_once(now=200.0)["resize-image"].replicas == 0
    server.set_fields(DEPLOYMENTS, "resize-image", status={"replicas": 0, "readyReplicas": 0})
    operator.refresh_status("resize-image")
    assert conditions(server.obj(FUNCTIONS, "resize-image")) == {
        "Ready": ("True", "Deployed"),
        "Scaled": ("True", "ScaledToZero"),
    }


def test_delete_cleans_up_then_releases_the_finalizer(server, api):
    server.put(FUNCTIONS, function())
    autoscaler = Autoscaler([], StaticMetrics(), _NoActuator(), interval=1.0)
    operator = Operator(api, NS, autoscaler=autoscaler, now=lambda: NOW)
    operator.reconcile("resize-image")
    assert server.obj(DEPLOYMENTS, "resize-image") is not None
    # kubectl delete: the finalizer holds the object with a deletionTimestamp
    server.requests.clear()
    call(api, "DELETE", f"{FUNCTIONS}/resize-image")
    assert server.obj(FUNCTIONS, "resize-image")["metadata"]["deletionTimestamp"]
    server.requests.clear()
    operator.reconcile("resize-image")
    deletes = [r.path for r in server.calls("DELETE")]
    assert deletes == [
        f"{SCALED_OBJECTS}/resize-image",
        f"{DEPLOYMENTS}/resize-image",
        f"{SERVICE_ACCOUNTS}/resize-image",
    ]
    assert server.calls("DELETE")[1].body["propagationPolicy"] == "Background"
    (release,) = server.calls("PATCH", f"{FUNCTIONS}/resize-image")
    assert release.body["metadata"]["finalizers"] == []
    assert server.obj(FUNCTIONS, "resize-image") is None
    assert server.obj(DEPLOYMENTS, "resize-image") is None
    assert server.obj(SERVICE_ACCOUNTS, "resize-image") is None
    assert autoscaler.functions == {}


def test_a_conflict_is_retried_after_a_re_read(server, api):
    server.put(FUNCTIONS, function())
    operator = Operator(api, NS, now=lambda: NOW)
    operator.reconcile("resize-image")
    server.put(FUNCTIONS, function(image="registry.example.com/fn:2"))
    server.fail_next.append(("PATCH", r"/functions/resize-image/status$", 409))
    server.requests.clear()
    status = operator.reconcile("resize-image")
    trace = [(r.method, r.path.rsplit("/", 1)[-1], r.status) for r in server.requests]
    first_conflict = trace.index(("PATCH", "status", 409))
    assert ("GET", "resize-image", 200) in trace[first_conflict + 1 :]  # re-read
    assert trace[-1] == ("PATCH", "status", 200)
    assert server.obj(FUNCTIONS, "resize-image")["status"]["observedGeneration"] == 2
    assert status["observedGeneration"] == 2


def test_a_stale_resource_version_is_a_conflict(server, api):
    """The fake answers 409 for a stale resourceVersion as the API server does, and the
    operator survives it: the status is written from a fresh read."""
    server.put(FUNCTIONS, function())
    operator = Operator(api, NS, now=lambda: NOW)
    original = operator._write_status

    def racing(resource, **kwargs):
        server.set_fields(FUNCTIONS, "resize-image", metadata={"labels": {"touched": "yes"}})
        operator._write_status = original
        return original(resource, **kwargs)

    operator._write_status = racing
    operator.reconcile("resize-image")
    statuses = [r.status for r in server.calls("PATCH", "/status")]
    assert statuses == [409, 200]
    assert server.obj(FUNCTIONS, "resize-image")["status"]["queue"] == "eventfn.fn.resize-image"


def test_keda_mode_applies_a_scaled_object_and_plain_mode_removes_ours(server, api):
    server.put(FUNCTIONS, function())
    Operator(api, NS, keda=True, now=lambda: NOW).reconcile("resize-image")
    scaled = server.obj(SCALED_OBJECTS, "resize-image")
    assert scaled["spec"]["scaleTargetRef"]["name"] == "resize-image"
    assert scaled["spec"]["triggers"][0]["metadata"]["queueName"] == "eventfn.fn.resize-image"
    server.requests.clear()
    Operator(api, NS, keda=False, now=lambda: NOW).reconcile("resize-image")
    assert [r.path for r in server.calls("DELETE")] == [f"{SCALED_OBJECTS}/resize-image"]
    assert server.obj(SCALED_OBJECTS, "resize-image") is None
    # a ScaledObject somebody else owns is left alone
    server.put(
        SCALED_OBJECTS,
        {
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": {"name": "resize-image", "namespace": NS},
            "spec": {"scaleTargetRef": {"name": "resize-image"}, "triggers": []},
        },
    )
    server.requests.clear()
    Operator(api, NS, keda=False, now=lambda: NOW).reconcile("resize-image")
    assert server.calls("DELETE") == []


def test_an_invalid_spec_applies_nothing_and_says_why(server, api):
    resource = function()
    resource["spec"]["concurrency"] = 0
    server.put(FUNCTIONS, resource, validate=False)  # the CRD schema would refuse it
    status = Operator(api, NS, now=lambda: NOW).reconcile("resize-image")
    assert not [r for r in server.requests if r.content_type == "application/apply-patch+yaml"]
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "InvalidSpec")
    assert "concurrency" in ready["message"]


def test_an_apply_refused_by_the_api_is_reported(server, api):
    server.put(FUNCTIONS, function())
    server.fail_next.append(("PATCH", r"/deployments/resize-image$", 422))
    status = Operator(api, NS, now=lambda: NOW).reconcile("resize-image")
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ApplyFailed")
    assert "422" in ready["message"]


def test_run_watches_functions_and_reconciles_changes(server, api):
    operator = Operator(api, NS, now=lambda: NOW, watch_timeout=1, status_interval=0.2)
    stop = threading.Event()
    thread = threading.Thread(target=operator.run, args=(stop,), daemon=True)
    thread.start()
    try:
        server.put(FUNCTIONS, function())
        wait_until(lambda: (server.obj(FUNCTIONS, "resize-image") or {}).get("status"), timeout=30)
        server.set_fields(DEPLOYMENTS, "resize-image", status={"replicas": 1, "readyReplicas": 1})
        wait_until(
            lambda: conditions(server.obj(FUNCTIONS, "resize-image"))["Ready"][0] == "True",
            timeout=30,
        )
        watches = [r for r in server.calls("GET", FUNCTIONS) if r.query.get("watch") == "true"]
        assert watches
        assert watches[0].query["resourceVersion"]
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()


class _NoActuator:
    reports_in_flight = True

    def observe(self, function):
        return ()

    def apply(self, function, decision):
        pass

    def forget(self, function):
        pass

    def close(self):
        pass


def test_scaled_function_from_a_resource_carries_the_grace():
    spec = FunctionSpec(name="a", image="i", timeout_seconds=10, drain_seconds=5)
    assert ScaledFunction.from_spec(spec).grace_seconds == 15
