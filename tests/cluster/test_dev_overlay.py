"""Scenario 1: the dev overlay, applied unmodified with ``kubectl apply --server-side``,
comes up on the simulated cluster: every Deployment rolled out, every pod ready, and
no restart for 60 s (probes run as declared the whole time)."""

from __future__ import annotations

import time

import pytest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.cluster,
    # uvicorn drops the keep-alive connections of killed pods at shutdown (uvloop warns)
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

NS = "eventfn"
DEPLOYMENTS = ("eventfn-bridge", "eventfn-ingress", "eventfn-operator")


def test_the_ingress_serves_its_probes_and_its_service_forwards(cluster):
    cluster.wait_ready(NS, ["eventfn-ingress"], timeout=90)
    host, port = cluster.port_forward(NS, "eventfn-ingress")
    import httpx

    answer = httpx.get(f"http://{host}:{port}/readyz", timeout=5)
    assert answer.status_code == 200
    pod = cluster.pods(NS, "app.kubernetes.io/name=eventfn-ingress")[0]
    env_names = cluster.kubelet.runtime(pod["metadata"]["name"])
    assert env_names is not None
    # the manifests turn service links off: no EVENTFN_INGRESS_PORT=tcp://... in pods
    assert pod["spec"]["enableServiceLinks"] is False


def test_every_pod_is_ready_and_none_restarts_for_60_s(cluster):
    cluster.wait_ready(NS, DEPLOYMENTS, timeout=90)
    first = cluster.restarts(NS)
    assert len(first) == len(DEPLOYMENTS)
    time.sleep(60)
    assert cluster.restarts(NS) == {name: 0 for name in first}, cluster.diagnose()
    assert cluster.deployments_ready(NS, DEPLOYMENTS)
