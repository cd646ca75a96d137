"""Scenario (KEDA mode, manifests only): what ``eventfn manifests --workloads --keda``
renders is accepted by the API server with KEDA's CRDs registered, through
``kubectl apply --server-side``: the ScaledObject targets the function's Deployment and
scales on its queue, and the TriggerAuthentication it names exists. KEDA itself is not
here, so nothing scales in this mode."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support.apiserver import KEDA_CRDS, SHIPPED_CRDS, ApiServer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.cluster,
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

NS = "eventfn"


def test_keda_mode_objects_are_valid_and_consistent(tmp_path):
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    eventfn = str(Path(sys.executable).parent / "eventfn")
    rendered = subprocess.run(
        [eventfn, "manifests", "--workloads", "--keda", "--namespace", NS],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    objects = [o for o in yaml.safe_load_all(rendered) if o]
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "ScaledObject", "ServiceAccount"} <= kinds
    with ApiServer(namespaces=[NS], crds=[*SHIPPED_CRDS, *KEDA_CRDS]) as api:
        kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
        applied = subprocess.run(
            [
                "kubectl",
                "--kubeconfig",
                str(kubeconfig),
                "apply",
                "--server-side",
                "--validate=false",
                "-f",
                "-",
            ],
            input=rendered,
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert applied.returncode == 0, applied.stderr
        scaled = api.items(f"/apis/keda.sh/v1alpha1/namespaces/{NS}/scaledobjects")
        deployments = {
            d["metadata"]["name"] for d in api.items(f"/apis/apps/v1/namespaces/{NS}/deployments")
        }
        auths = {
            a["metadata"]["name"]
            for a in api.items(f"/apis/keda.sh/v1alpha1/namespaces/{NS}/triggerauthentications")
        }
        assert scaled
        for obj in scaled:
            assert obj["spec"]["scaleTargetRef"]["name"] in deployments
            for trigger in obj["spec"]["triggers"]:
                assert trigger["metadata"]["queueName"].startswith("eventfn.fn.")
                ref = (trigger.get("authenticationRef") or {}).get("name")
                assert ref is None or ref in auths, (
                    f"ScaledObject names TriggerAuthentication {ref!r}, not rendered"
                )
