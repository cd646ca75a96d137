"""The kustomize base and overlays: they build, every object validates strictly against
the Kubernetes 1.32 OpenAPI schemas, and they keep our security and RBAC rules."""

from __future__ import annotations

import re

import kubernetes_validate
import pytest
from _k8s_checks import MANIFESTS, assert_pod_secure, pod_templates, validate_k8s

TARGETS = ["base", "overlays/dev", "overlays/prod"]


@pytest.mark.parametrize("target", TARGETS)
def test_every_object_validates_strictly(kustomize, target):
    documents = kustomize(target)
    assert len(documents) >= 20
    for document in documents:
        validate_k8s(document)


def test_strict_validation_catches_a_typo(kustomize):
    (deployment,) = [
        d
        for d in kustomize("base")
        if d["kind"] == "Deployment" and d["metadata"]["name"] == "eventfn-bridge"
    ]
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_k8s(broken)


@pytest.mark.parametrize("target", TARGETS)
def test_pods_are_locked_down(kustomize, target):
    templates = pod_templates(kustomize(target))
    assert {name for name, _ in templates} == {
        "eventfn-operator",
        "eventfn-bridge",
        "eventfn-ingress",
    }
    for name, pod in templates:
        assert_pod_secure(name, pod)
        assert pod["terminationGracePeriodSeconds"] >= 30


def test_commands_and_ingress_probes(kustomize):
    pods = dict(pod_templates(kustomize("base")))
    args = {name: pod["containers"][0]["args"] for name, pod in pods.items()}
    assert args == {
        "eventfn-operator": ["operator"],
        "eventfn-bridge": ["bridge"],
        "eventfn-ingress": ["ingress", "--host", "0.0.0.0", "--port", "8080"],
    }
    ingress = pods["eventfn-ingress"]["containers"][0]
    assert ingress["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert ingress["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert ingress["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    for name in ("eventfn-operator", "eventfn-bridge"):
        container = pods[name]["containers"][0]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["EVENTFN_HEALTH_PORT"] == "8081"
    for name in ("eventfn-bridge", "eventfn-ingress"):
        env = {e["name"]: e.get("value") for e in pods[name]["containers"][0]["env"]}
        assert env["EVENTFN_SOURCE"] == "k8s", "in a cluster, route by the resources"
    (service,) = [d for d in kustomize("base") if d["kind"] == "Service"]
    assert service["spec"]["ports"][0]["targetPort"] == "http"


@pytest.mark.parametrize("target", TARGETS)
def test_every_deployment_has_a_matching_pdb(kustomize, target):
    documents = kustomize(target)
    budgets = {
        tuple(sorted(d["spec"]["selector"]["matchLabels"].items()))
        for d in documents
        if d["kind"] == "PodDisruptionBudget"
    }
    for document in documents:
        if document["kind"] == "Deployment":
            selector = tuple(sorted(document["spec"]["selector"]["matchLabels"].items()))
            assert selector in budgets, document["metadata"]["name"]


def test_rbac_is_least_privilege(kustomize):
    documents = kustomize("base")
    for document in documents:
        for rule in document.get("rules", []):
            for field in ("verbs", "resources", "apiGroups"):
                assert "*" not in rule.get(field, []), (document["metadata"]["name"], rule)
            if "delete" in rule["verbs"]:  # only what the operator itself creates
                assert document["metadata"]["name"] == "eventfn-operator", rule
                assert set(rule["resources"]) <= {"deployments", "serviceaccounts", "scaledobjects"}
            assert not {"secrets", "configmaps"} & set(rule["resources"])
    cluster_roles = [d for d in documents if d["kind"] == "ClusterRole"]
    assert [r["metadata"]["name"] for r in cluster_roles] == ["eventfn-operator-crds"]
    (rule,) = cluster_roles[0]["rules"]
    assert rule["verbs"] == ["get"]
    assert rule["resources"] == ["customresourcedefinitions"]
    assert "functions.eventfn.io" in rule["resourceNames"]
    (binding,) = [d for d in documents if d["kind"] == "ClusterRoleBinding"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "eventfn-operator", "namespace": "eventfn"}
    ]
    roles = {d["metadata"]["name"]: d["rules"] for d in documents if d["kind"] == "Role"}
    assert roles["eventfn-bridge"] == [
        {
            "apiGroups": ["eventfn.io"],
            "resources": ["functions", "subscriptions"],
            "verbs": ["get", "list", "watch"],
        }
    ]
    assert roles["eventfn-ingress"] == [
        {"apiGroups": ["eventfn.io"], "resources": ["functions"], "verbs": ["get", "list", "watch"]}
    ]


def test_namespace_enforces_restricted_pod_security(kustomize):
    (namespace,) = [d for d in kustomize("base") if d["kind"] == "Namespace"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for document in kustomize("base"):
        cluster_scoped = {"Namespace", "CustomResourceDefinition", "ClusterRole"}
        if document["kind"] not in cluster_scoped | {"ClusterRoleBinding"}:
            assert document["metadata"]["namespace"] == "eventfn", document["kind"]


def test_crds_declare_status_printer_columns_and_version(kustomize):
    crds = {d["metadata"]["name"]: d for d in kustomize("base") if d["kind"].startswith("Custom")}
    assert set(crds) == {"functions.eventfn.io", "subscriptions.eventfn.io"}
    for crd in crds.values():
        assert crd["spec"]["group"] == "eventfn.io"
        assert crd["spec"]["scope"] == "Namespaced"
        (version,) = crd["spec"]["versions"]
        assert version["name"] == "v1alpha1"
        assert version["served"]
        assert version["storage"]
        assert version["subresources"] == {"status": {}}
        columns = [column["name"] for column in version["additionalPrinterColumns"]]
        assert {"Ready", "Age"} <= set(columns)
    function_columns = crds["functions.eventfn.io"]["spec"]["versions"][0]
    assert {"Image", "Replicas", "Backlog"} <= {
        c["name"] for c in function_columns["additionalPrinterColumns"]
    }


def test_overlays_differ_where_they_should(kustomize):
    def images(target):
        return {pod["containers"][0]["image"] for _, pod in pod_templates(kustomize(target))}

    assert images("overlays/dev") == {"eventfn:dev"}
    (prod_image,) = images("overlays/prod")
    assert re.fullmatch(r".+/eventfn:\d+\.\d+\.\d+", prod_image)
    replicas = {
        d["metadata"]["name"]: d["spec"]["replicas"]
        for d in kustomize("overlays/prod")
        if d["kind"] == "Deployment"
    }
    assert replicas == {"eventfn-ingress": 3, "eventfn-bridge": 2, "eventfn-operator": 1}
    assert any(d["kind"] == "HorizontalPodAutoscaler" for d in kustomize("overlays/prod"))
    dev_env = [
        e["name"]
        for _, pod in pod_templates(kustomize("overlays/dev"))
        for e in pod["containers"][0]["env"]
    ]
    assert "EVENTFN_LOG_LEVEL" in dev_env


def test_no_secret_is_shipped(kustomize):
    for target in TARGETS:
        assert not [d for d in kustomize(target) if d["kind"] == "Secret"]


def test_dockerfile():
    text = (MANIFESTS / "Dockerfile").read_text()
    froms = re.findall(r"^FROM (\S+)", text, flags=re.MULTILINE)
    assert froms
    assert all(image == "python:3.11-slim" for image in froms)
    (user,) = re.findall(r"^USER (\S+)", text, flags=re.MULTILINE)
    assert user.split(":")[0] not in {"0", "root"}
    assert user.split(":")[0] == "10001"  # the runAsUser of every pod
    assert re.search(r'^ENTRYPOINT \["eventfn"\]$', text, flags=re.MULTILINE)
    assert "pip install" in text
    # USER comes after the last RUN: nothing runs as root in the final stage's runtime
    assert text.rindex("USER ") > text.rindex("RUN ")
