"""Helpers of the k8s tests: Kubernetes OpenAPI validation (kubernetes-validate, strict,
the schema set closest to 1.32), CRD schemas as JSON Schema, pod security assertions.
(Not named conftest so that test modules can import it without clashing with others.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate

from k8s.render import from_yaml

REPO = Path(__file__).resolve().parents[3]
MANIFESTS = REPO / "k8s" / "manifests"
CRDS = MANIFESTS / "base" / "crds"
#: kubernetes-validate ships schemas per minor version; 1.32 matches our kubectl.
K8S_VERSION = "1.32.0"


def validate_k8s(document: dict[str, Any]) -> None:
    """Strict validation against the Kubernetes OpenAPI schemas (unknown fields rejected)."""
    kubernetes_validate.validate(document, K8S_VERSION, strict=True)


def openapi_to_jsonschema(node: Any, *, root: bool = False) -> Any:
    """CRD structural schema (OpenAPI v3.0) -> JSON Schema, refusing unknown fields as
    the API server would prune them (so a typo fails here instead of vanishing there)."""
    if isinstance(node, list):
        return [openapi_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-kubernetes-") or key in {"nullable", "default"}:
            continue
        if key == "properties":
            out[key] = {
                name: openapi_to_jsonschema(sub) if not (root and name == "metadata") else {}
                for name, sub in value.items()
            }
        elif key in {"exclusiveMinimum", "exclusiveMaximum"}:
            continue
        else:
            out[key] = openapi_to_jsonschema(value)
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if node.get(exclusive) is True:
            out[exclusive] = out.pop(bound)
    if node.get("nullable"):
        out["type"] = [node["type"], "null"]
    if (
        node.get("type") == "object"
        and "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def pod_templates(documents: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (doc["metadata"]["name"], doc["spec"]["template"]["spec"])
        for doc in documents
        if doc["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job"}
    ]


def assert_pod_secure(name: str, pod: dict[str, Any]) -> None:
    """The restricted Pod Security Standard plus our own rules, for one pod spec."""
    pod_ctx = pod["securityContext"]
    assert pod_ctx["runAsNonRoot"] is True, name
    assert pod_ctx["seccompProfile"] == {"type": "RuntimeDefault"}, name
    assert pod_ctx["runAsUser"] != 0, name
    for container in pod["containers"]:
        ctx = container["securityContext"]
        where = f"{name}/{container['name']}"
        assert ctx["allowPrivilegeEscalation"] is False, where
        assert ctx["readOnlyRootFilesystem"] is True, where
        assert ctx["capabilities"]["drop"] == ["ALL"], where
        assert "add" not in ctx["capabilities"], where
        assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert container["resources"]["requests"].keys() >= {"cpu", "memory"}, where
        assert container["resources"]["limits"].keys() >= {"cpu", "memory"}, where
        assert "livenessProbe" in container, where
        assert "readinessProbe" in container, where
        env = {item["name"]: item for item in container.get("env", [])}
        broker = env["EVENTFN_BROKER_URL"]
        assert "value" not in broker, where
        assert broker["valueFrom"]["secretKeyRef"]["key"], where
        for item in env.values():
            assert "://" not in item.get("value", ""), f"{where}: URL inline in {item['name']}"


def crd_validators() -> dict[str, jsonschema.Draft202012Validator]:
    """Kind -> validator built from the CRD's v1alpha1 openAPIV3Schema."""
    validators = {}
    for path in sorted(CRDS.glob("*.yaml")):
        (crd,) = from_yaml(path.read_text())
        (version,) = crd["spec"]["versions"]
        schema = openapi_to_jsonschema(version["schema"]["openAPIV3Schema"], root=True)
        jsonschema.Draft202012Validator.check_schema(schema)
        validators[crd["spec"]["names"]["kind"]] = jsonschema.Draft202012Validator(schema)
    return validators
