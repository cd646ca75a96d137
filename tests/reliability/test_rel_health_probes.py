"""Probes follow the broker: when the private RabbitMQ node stops, the worker and the
bridge turn unready (``/readyz`` 503) but stay live (``/healthz`` 200, reported as
reconnecting), so the kubelet takes them out of service without restarting them; when
the node is back, both are ready again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.probes import free_port, probe, wait_probe

from worker_runtime.testing import EventfnProcess

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(600)]

FUNCTIONS = str(Path(__file__).parent / "rel_functions.py")


def test_broker_outage_makes_worker_and_bridge_unready_not_dead(
    rel_broker: Any, tmp_path: Path
) -> None:
    url = rel_broker.vhost()
    ports = {"worker": free_port(), "bridge": free_port()}
    args = {
        "worker": ["worker", "rel-plain", "--functions", FUNCTIONS],
        "bridge": ["bridge", "--functions", FUNCTIONS],
    }
    ready = {"worker": "ready.", "bridge": "bridge consuming"}
    procs = {
        name: EventfnProcess(
            args[name],
            log_path=tmp_path / f"{name}.log",
            env={"EVENTFN_BROKER_URL": url, "EVENTFN_HEALTH_PORT": str(ports[name])},
            ready_line=ready[name],
        ).start()
        for name in args
    }
    try:
        for port in ports.values():
            wait_probe(port, "/readyz", 200)
        rel_broker.node.stop()
        for name, port in ports.items():
            body = wait_probe(port, "/readyz", 503, timeout=120)
            assert body["checks"]["broker"] is False, (name, body)
            status, live = probe(port, "/healthz")
            assert status == 200, (name, live)
            assert "waiting" in live["loops"][name], (name, live)
        rel_broker.node.start()
        for port in ports.values():
            wait_probe(port, "/readyz", 200, timeout=180)
            assert probe(port, "/healthz")[0] == 200
    finally:
        if not rel_broker.node.running:
            rel_broker.node.start()
        for proc in procs.values():
            proc.terminate()
