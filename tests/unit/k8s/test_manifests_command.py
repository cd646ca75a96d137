"""``eventfn manifests``: its output, in every mode, validates against the Kubernetes
1.32 OpenAPI schemas (kubernetes-validate --strict) and our CRDs' schemas."""

from __future__ import annotations

import sys
from pathlib import Path

import jsonschema
import pytest
from _k8s_checks import validate_k8s
from click.testing import CliRunner

from k8s.commands.manifests import command
from k8s.render import from_yaml

REPO = Path(__file__).resolve().parents[3]
RECORDER = str(REPO / "tests" / "e2e" / "recorder.py")
SCALED = str(REPO / "tests" / "e2e" / "k8s" / "scaled_functions.py")


def run(*args):
    _forget_loaded_functions()
    result = CliRunner().invoke(command, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return from_yaml(result.output)


def _forget_loaded_functions():
    """Modules register their functions when imported: import them again into the
    test's fresh registry."""
    for name in list(sys.modules):
        if name.startswith(("eventfn_user_", "functions")):
            del sys.modules[name]


def _validate(documents, crd_validators, keda_schemas):
    for document in documents:
        kind = document["kind"]
        if kind in crd_validators:
            crd_validators[kind].validate(document)
        elif kind in keda_schemas:
            jsonschema.validate(document, keda_schemas[kind])
        else:
            validate_k8s(document)


@pytest.fixture(scope="module")
def keda_schemas():
    from test_k8s_render import SCALED_OBJECT_SCHEMA, TRIGGER_AUTHENTICATION_SCHEMA

    return {
        "ScaledObject": SCALED_OBJECT_SCHEMA,
        "TriggerAuthentication": TRIGGER_AUTHENTICATION_SCHEMA,
    }


@pytest.mark.parametrize(
    "flags",
    [[], ["--keda"], ["--workloads"], ["--keda", "--workloads"]],
    ids=["operator", "keda", "workloads", "keda+workloads"],
)
@pytest.mark.parametrize("module", ["functions", RECORDER, f"{RECORDER},{SCALED}"])
def test_every_output_validates(flags, module, crd_validators, keda_schemas, registry):
    documents = run("--functions", module, "--image", "registry.example.com/fn:1.0", *flags)
    _validate(documents, crd_validators, keda_schemas)
    kinds = [d["kind"] for d in documents]
    assert "Function" in kinds
    assert ("ScaledObject" in kinds) == ("--keda" in flags)
    assert ("Deployment" in kinds) == ("--workloads" in flags)


def test_functions_and_subscriptions_from_the_decorators(registry):
    documents = run(
        "--functions",
        RECORDER,
        "--image",
        "img:2",
        "--module",
        "shop.functions",
        "--namespace",
        "team-a",
        "--max-replicas",
        "7",
        "--cooldown",
        "60",
    )
    function, subscription = documents
    assert function["metadata"] == {
        "name": "recorder",
        "namespace": "team-a",
        "labels": function["metadata"]["labels"],
    }
    assert function["spec"]["image"] == "img:2"
    assert function["spec"]["functionsModule"] == "shop.functions"
    assert function["spec"]["scaling"]["maxReplicas"] == 7
    assert function["spec"]["scaling"]["cooldownSeconds"] == 60
    assert subscription["spec"] == {
        "function": "recorder",
        "filters": [{"exact": {"type": "com.example.e2e.recorded"}}],
    }


def test_an_invalid_policy_is_a_usage_error(registry):
    _forget_loaded_functions()
    result = CliRunner().invoke(
        command, ["--functions", RECORDER, "--min-replicas", "5", "--max-replicas", "2"]
    )
    assert result.exit_code == 2
    assert "maxReplicas" in result.output
