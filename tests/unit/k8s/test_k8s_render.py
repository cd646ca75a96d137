"""Rendered manifests of a FunctionSpec: every object validates (Kubernetes kinds with
kubernetes-validate --strict for 1.32, our kinds against our CRDs' schemas, KEDA kinds
against the subset of KEDA's schema we emit), and they say what the spec says."""

from __future__ import annotations

import jsonschema
import kubernetes_validate
import pytest
from _k8s_checks import assert_pod_secure, pod_templates, validate_k8s
from pydantic import ValidationError

from k8s.errors import InvalidResource
from k8s.model import FunctionSpec
from k8s.render import (
    Owner,
    RenderSettings,
    from_yaml,
    function_resource,
    render_manifests,
    render_workload,
    scaled_object,
    spec_from_resource,
    to_yaml,
    trigger_authentication,
)
from k8s.scaling import ScalingPolicy

SETTINGS = RenderSettings()
OWNER = Owner(name="resize-image", uid="0b9a3f4e-2f7c-4a53-9c1f-6f3f2d3c8a11")


def full_spec(**overrides) -> FunctionSpec:
    values = {
        "name": "resize-image",
        "image": "registry.example.com/shop/functions:1.2.3",
        "timeout_seconds": 45.5,
        "drain_seconds": 20,
        "concurrency": 4,
        "scaling": ScalingPolicy(
            min_replicas=0,
            max_replicas=20,
            target_backlog=8,
            activation_backlog=2,
            cooldown_seconds=120,
            scale_down_stabilization_seconds=90,
            scale_up_max_step=3,
            drain_time_seconds=60,
        ),
        "subscriptions": (
            {"exact": {"type": "com.example.image.uploaded"}},
            {"all": [{"prefix": {"type": "com.example."}}, {"sql": "subject LIKE 'img/%'"}]},
        ),
        "env": {"THUMB_SIZE": "128", "LOG_FORMAT": "json"},
        "functions_module": "shop.functions",
    }
    values.update(overrides)
    return FunctionSpec(**values)


SPECS = [
    full_spec(),
    FunctionSpec(name="order-logger", image="eventfn:dev"),
    full_spec(name="min-one", scaling=ScalingPolicy(min_replicas=1, max_replicas=1)),
]

# The part of KEDA's keda.sh/v1alpha1 schemas that we emit, strict: a misspelt field of
# ours fails here (KEDA's own CRDs are not vendored; field names and types follow them).
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_META = {"type": "object", "required": ["name", "namespace"]}
SCALED_OBJECT_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": _META,
        "spec": {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "additionalProperties": False,
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "name": {"type": "string"},
                    },
                },
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "advanced": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "horizontalPodAutoscalerConfig": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {"behavior": {"type": "object"}},
                        }
                    },
                },
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["type", "metadata"],
                        "additionalProperties": False,
                        "properties": {
                            "type": {"const": "rabbitmq"},
                            "metadata": _STRING_MAP,
                            "authenticationRef": {
                                "type": "object",
                                "required": ["name"],
                                "additionalProperties": False,
                                "properties": {"name": {"type": "string"}},
                            },
                        },
                    },
                },
            },
        },
    },
}
TRIGGER_AUTHENTICATION_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "TriggerAuthentication"},
        "metadata": _META,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "secretTargetRef": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["parameter", "name", "key"],
                        "additionalProperties": False,
                        "properties": {
                            "parameter": {"type": "string"},
                            "name": {"type": "string"},
                            "key": {"type": "string"},
                        },
                    },
                }
            },
        },
    },
}


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
@pytest.mark.parametrize("owner", [None, OWNER], ids=["no-owner", "owned"])
def test_every_rendered_document_validates(spec, owner, crd_validators):
    documents = render_manifests([spec], SETTINGS, keda=True) + render_workload(
        spec, SETTINGS, owner, keda=True
    )
    kinds = set()
    for document in documents:
        kind = document["kind"]
        kinds.add(kind)
        if kind in crd_validators:
            crd_validators[kind].validate(document)
        elif kind == "ScaledObject":
            jsonschema.validate(document, SCALED_OBJECT_SCHEMA)
            validate_k8s(_as_hpa(document))
        elif kind == "TriggerAuthentication":
            jsonschema.validate(document, TRIGGER_AUTHENTICATION_SCHEMA)
        else:
            validate_k8s(document)
    assert kinds >= {"Function", "ServiceAccount", "Deployment", "ScaledObject"}


def _as_hpa(scaled_object: dict) -> dict:
    """The HPA KEDA will create, to check the behavior block against autoscaling/v2."""
    spec = scaled_object["spec"]
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": f"keda-hpa-{scaled_object['metadata']['name']}"},
        "spec": {
            "scaleTargetRef": spec["scaleTargetRef"],
            "minReplicas": max(1, spec["minReplicaCount"]),
            "maxReplicas": spec["maxReplicaCount"],
            "behavior": spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"],
        },
    }


def test_validators_reject_mistakes(crd_validators):
    function = function_resource(full_spec(), SETTINGS)
    typo = {**function, "spec": {**function["spec"], "timeout": 3}}
    with pytest.raises(jsonschema.ValidationError, match="timeout"):
        crd_validators["Function"].validate(typo)
    zero = {**function, "spec": {**function["spec"], "timeoutSeconds": 0}}
    with pytest.raises(jsonschema.ValidationError):
        crd_validators["Function"].validate(zero)
    subscription = render_manifests([full_spec()], SETTINGS, workloads=False)[1]
    two_dialects = {
        **subscription,
        "spec": {"function": "x", "filters": [{"exact": {"a": "b"}, "prefix": {"a": "b"}}]},
    }
    with pytest.raises(jsonschema.ValidationError):
        crd_validators["Subscription"].validate(two_dialects)
    (_, deployment) = render_workload(full_spec(), SETTINGS)
    deployment["spec"]["template"]["spec"]["containers"][0]["envv"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_k8s(deployment)


def test_worker_deployment():
    spec = full_spec()
    (service_account, deployment) = render_workload(spec, SETTINGS, OWNER)
    ((name, pod),) = pod_templates([deployment])
    assert_pod_secure(name, pod)
    assert name == "resize-image"
    assert "replicas" not in deployment["spec"]  # KEDA owns the count
    assert pod["terminationGracePeriodSeconds"] == 66  # ceil(45.5 + 20)
    assert pod["serviceAccountName"] == service_account["metadata"]["name"] == "resize-image"
    assert pod["automountServiceAccountToken"] is False
    assert service_account["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    assert container["image"] == spec.image
    assert container["args"] == ["worker", "resize-image", "--functions", "shop.functions"]
    env = {item["name"]: item for item in container["env"]}
    assert env["EVENTFN_BROKER_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "eventfn-broker",
        "key": "url",
    }
    assert env["THUMB_SIZE"]["value"] == "128"
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_owner_references_only_with_an_owner():
    for document in render_workload(full_spec(), SETTINGS, OWNER, keda=True):
        (reference,) = document["metadata"]["ownerReferences"]
        assert reference == {
            "apiVersion": "eventfn.io/v1alpha1",
            "kind": "Function",
            "name": "resize-image",
            "uid": OWNER.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    for document in render_workload(full_spec(), SETTINGS):
        assert "ownerReferences" not in document["metadata"]


def test_scaled_object_maps_the_policy():
    document = scaled_object(full_spec(), SETTINGS)
    spec = document["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "resize-image",
    }
    assert (spec["minReplicaCount"], spec["maxReplicaCount"], spec["cooldownPeriod"]) == (
        0,
        20,
        120,
    )
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "rabbitmq"
    assert trigger["metadata"] == {
        "protocol": "http",
        "queueName": "eventfn.fn.resize-image",
        "mode": "QueueLength",
        "value": "8",
        "activationValue": "2",
    }
    behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 90
    assert behavior["scaleUp"]["policies"][0] == {"type": "Pods", "value": 3, "periodSeconds": 15}
    auth = trigger_authentication(SETTINGS)
    assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
    assert auth["spec"]["secretTargetRef"] == [
        {"parameter": "host", "name": "eventfn-broker", "key": "management-url"}
    ]


def test_custom_resources_and_round_trip():
    spec = full_spec()
    documents = render_manifests([spec], SETTINGS, workloads=False)
    assert [d["kind"] for d in documents] == ["Function", "Subscription"]
    function, *subscriptions = documents
    assert function["spec"]["scaling"]["targetBacklog"] == 8
    assert function["spec"]["env"] == [
        {"name": "THUMB_SIZE", "value": "128"},
        {"name": "LOG_FORMAT", "value": "json"},
    ]
    assert [s["metadata"]["name"] for s in subscriptions] == ["resize-image-0"]
    assert [s["spec"]["filters"] for s in subscriptions] == [list(spec.subscriptions)]
    assert all(s["spec"]["function"] == "resize-image" for s in subscriptions)
    back = spec_from_resource(function, subscriptions=spec.subscriptions)
    assert back == spec
    assert spec_from_resource(function_resource(SPECS[1], SETTINGS)) == SPECS[1]


def test_spec_from_an_invalid_resource_names_it():
    resource = function_resource(full_spec(), SETTINGS)
    resource["spec"]["concurrency"] = 0
    with pytest.raises(InvalidResource, match="resize-image") as caught:
        spec_from_resource(resource)
    assert isinstance(caught.value, ValueError)
    assert "concurrency" in caught.value.problems
    with pytest.raises(InvalidResource, match=r"expected eventfn\.io/v1alpha1 Function"):
        spec_from_resource({**resource, "kind": "Subscription"})


def test_manifests_are_sorted_and_shared_objects_come_once():
    documents = render_manifests([SPECS[0], SPECS[1]], SETTINGS, keda=True, workloads=True)
    assert [d["kind"] for d in documents].count("TriggerAuthentication") == 1
    functions = [d["metadata"]["name"] for d in documents if d["kind"] == "Function"]
    assert functions == ["order-logger", "resize-image"]
    assert render_manifests([], SETTINGS) == []
    namespaced = render_manifests([SPECS[1]], RenderSettings(namespace="team-a"))
    assert {d["metadata"]["namespace"] for d in namespaced} == {"team-a"}


def test_yaml_round_trip():
    documents = render_manifests(SPECS, SETTINGS, workloads=True, keda=True)
    text = to_yaml(documents)
    assert text.count("\n---\n") == len(documents) - 1
    assert from_yaml(text) == documents
    assert text.index("apiVersion") < text.index("kind")  # key order kept
    with pytest.raises(ValueError, match="not a mapping"):
        from_yaml("- a\n- b\n")


def test_what_each_mode_renders():
    def kinds(**flags):
        return [d["kind"] for d in render_manifests([SPECS[1]], SETTINGS, **flags)]

    assert kinds() == ["Function"]  # the operator renders the workload
    assert kinds(keda=True) == ["TriggerAuthentication", "Function", "ScaledObject"]
    assert kinds(workloads=True) == ["Function", "ServiceAccount", "Deployment"]
    assert [d["kind"] for d in render_workload(SPECS[1], SETTINGS)] == [
        "ServiceAccount",
        "Deployment",
    ]
    assert render_workload(SPECS[1], SETTINGS, keda=True)[-1]["kind"] == "ScaledObject"


def test_probes_can_be_turned_off():
    (_, deployment) = render_workload(full_spec(), RenderSettings(health_port=None))
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert "livenessProbe" not in container
    assert "EVENTFN_HEALTH_PORT" not in [e["name"] for e in container["env"]]


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"name": "Resize_Image"}, "DNS-1123"),
        ({"name": "eventfn-bridge"}, "reserved"),
        ({"env": {"EVENTFN_BROKER_URL": "amqp://x"}}, "set by eventfn"),
        ({"env": {"1BAD": "x"}}, "not valid"),
        ({"subscriptions": ({"exact": {"a": "b"}, "prefix": {"a": "b"}},)}, "exactly one"),
        ({"subscriptions": ({"regex": {"a": "b"}},)}, "unknown filter dialect"),
        ({"subscriptions": ({"all": []},)}, "non-empty list"),
        ({"subscriptions": ({"not": {"sql": ""}},)}, "CESQL"),
        ({"subscriptions": ({"exact": {"a": 1}},)}, "strings"),
        ({"timeout_seconds": 0}, "greater than 0"),
    ],
)
def test_function_spec_refuses(overrides, match):
    with pytest.raises(ValidationError, match=match):
        full_spec(**overrides)


def test_function_spec_queue_and_grace():
    spec = FunctionSpec(name="a", image="i", timeout_seconds=30, drain_seconds=0)
    assert spec.queue == "eventfn.fn.a"
    assert spec.termination_grace_seconds == 30


def test_rendered_subscriptions_route_as_the_registry_does():
    """subscribe=[a, b] is one conjunction locally; the rendered Subscription resources
    must route the same events (they were one resource per filter: a disjunction)."""
    from broker_bridge.subscriptions import Subscription
    from k8s.subscription_source import table_from_resources

    spec = full_spec()
    assert len(spec.subscriptions) >= 2
    resources = {
        d["metadata"]["name"]: d
        for d in render_manifests([spec], SETTINGS, workloads=False)
        if d["kind"] == "Subscription"
    }
    table = table_from_resources(resources)
    local = Subscription(name="local", function=spec.name, filters=list(spec.subscriptions))
    # matches the first filter (exact type) but not the second (subject img/%)
    first_only = {"type": "com.example.image.uploaded", "source": "/s", "id": "1", "subject": "x"}
    both = {**first_only, "subject": "img/cat.png"}
    for event in (first_only, both):
        routed = any(s.matches(event) for s in table.subscriptions)
        assert routed == local.matches(event), event
    assert local.matches(both)
    assert not local.matches(first_only)
