"""The proving ground's fixtures: one simulated cluster per module (see ground.py).

Needs root (network namespaces), ``rabbitmq-server`` and ``kubectl``: skipped locally
when missing, a failure in CI (``CI=true``), as every broker test."""

from __future__ import annotations

import os
import shutil

import pytest
from support.rabbitmq_node import rabbitmq_node_available

from .network import available

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_ground() -> None:
    reasons = []
    ok, why = available()
    if not ok:
        reasons.append(why)
    ok, why = rabbitmq_node_available()
    if not ok:
        reasons.append(why)
    if shutil.which("kubectl") is None:
        reasons.append("kubectl is not installed (Debian: kubernetes-client)")
    if reasons:
        message = "the proving ground cannot run here: " + "; ".join(reasons)
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def cluster():
    """The dev overlay applied with ``kubectl apply --server-side`` and the broker Secret."""
    require_ground()
    from .ground import Cluster

    with Cluster() as ground:
        applied = ground.kubectl_apply(ground.kustomize("k8s/manifests/overlays/dev"))
        assert applied.returncode == 0, applied.stderr
        ground.broker_secret()
        yield ground
