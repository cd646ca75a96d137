"""The operator's pure parts: what a Function plans to apply, the status and conditions
it gets from what was observed, and when a status write is needed."""

from __future__ import annotations

from k8s.model import FunctionSpec
from k8s.operator import FINALIZER, function_status, is_owned_by, plan_function, same_status
from k8s.operator.conditions import set_condition
from k8s.render import RenderSettings, function_resource

SETTINGS = RenderSettings(namespace="team-a")


def resource(**spec_overrides):
    doc = function_resource(FunctionSpec(name="fn", image="img:1"), SETTINGS)
    doc["metadata"].update(uid="u-1", generation=3, resourceVersion="7")
    doc["spec"].update(spec_overrides)
    return doc


def deployment(desired, replicas=0, ready=0):
    return {"spec": {"replicas": desired}, "status": {"replicas": replicas, "readyReplicas": ready}}


def by_type(status):
    return {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}


def test_plan_renders_the_owned_workload_in_the_functions_namespace():
    plan = plan_function(resource(), RenderSettings(namespace="elsewhere"), keda=False)
    assert [d["kind"] for d in plan.apply] == ["ServiceAccount", "Deployment"]
    for document in plan.apply:
        assert document["metadata"]["namespace"] == "team-a"
        assert document["metadata"]["ownerReferences"][0]["uid"] == "u-1"
    assert plan.remove_stale_scaled_object
    keda = plan_function(resource(), SETTINGS, keda=True)
    assert [d["kind"] for d in keda.apply] == ["ServiceAccount", "Deployment", "ScaledObject"]
    assert not keda.remove_stale_scaled_object
    assert FINALIZER == "eventfn.io/cleanup"


def test_plan_of_an_invalid_function_applies_nothing():
    plan = plan_function(resource(concurrency=0), SETTINGS, keda=False)
    assert plan.apply == ()
    assert plan.spec is None
    assert "concurrency" in plan.problem


def test_ownership_is_by_uid_and_controller():
    owned = {"metadata": {"ownerReferences": [{"uid": "u-1", "controller": True}]}}
    assert is_owned_by(owned, resource())
    assert not is_owned_by(
        {"metadata": {"ownerReferences": [{"uid": "u-2", "controller": True}]}}, resource()
    )
    assert not is_owned_by({"metadata": {}}, resource())
    assert not is_owned_by(None, resource())


def test_status_follows_the_deployment():
    now = "2026-01-01T00:00:00Z"
    cases = [
        (None, {"Ready": ("False", "WorkersStarting"), "Scaled": ("Unknown", "NoWorkload")}),
        (deployment(0), {"Ready": ("True", "Deployed"), "Scaled": ("True", "ScaledToZero")}),
        (
            deployment(2, 2, 0),
            {"Ready": ("False", "WorkersStarting"), "Scaled": ("False", "ScalingUp")},
        ),
        (deployment(2, 2, 1), {"Ready": ("True", "Deployed"), "Scaled": ("False", "ScalingUp")}),
        (
            deployment(2, 2, 2),
            {"Ready": ("True", "Deployed"), "Scaled": ("True", "AtDesiredReplicas")},
        ),
        (deployment(1, 3, 3), {"Ready": ("True", "Deployed"), "Scaled": ("False", "ScalingDown")}),
    ]
    for observed, expected in cases:
        status = function_status(resource(), observed, now=now, backlog=4)
        assert by_type(status) == expected, observed
        assert status["observedGeneration"] == 3
        assert status["queue"] == "eventfn.fn.fn"
        assert status["backlog"] == 4
    failed = function_status(resource(), None, now=now, apply_failed="422 invalid")
    assert by_type(failed)["Ready"] == ("False", "ApplyFailed")
    invalid = function_status(resource(), None, now=now, invalid="bad")
    assert by_type(invalid)["Ready"] == ("False", "InvalidSpec")
    assert all(c["observedGeneration"] == 3 for c in invalid["conditions"])


def test_transition_time_moves_only_with_the_status():
    first = set_condition([], "Ready", "False", "WorkersStarting", "", generation=1, now="t1")
    same = set_condition(first, "Ready", "False", "ApplyFailed", "x", generation=2, now="t2")
    assert same[0]["lastTransitionTime"] == "t1"
    assert same[0]["reason"] == "ApplyFailed"
    flipped = set_condition(same, "Ready", "True", "Deployed", "", generation=2, now="t3")
    assert flipped[0]["lastTransitionTime"] == "t3"
    assert len(flipped) == 1


def test_same_status_ignores_transition_times_only():
    a = function_status(resource(), deployment(1, 1, 1), now="t1")
    b = function_status(resource(), deployment(1, 1, 1), now="t2")
    assert a != b
    assert same_status(a, b)
    c = function_status(resource(), deployment(2, 1, 1), now="t1")
    assert not same_status(a, c)
    assert not same_status(None, a)
