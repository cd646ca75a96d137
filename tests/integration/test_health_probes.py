"""``/healthz`` and ``/readyz`` of the worker and the bridge as real processes on
``EVENTFN_HEALTH_PORT``: served by the worker's main process (not a pool child), live
from their loops' heartbeats, ready once consuming; gone when the process stops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.probes import free_port, probe, wait_probe

from worker_runtime.testing import EventfnProcess

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

FUNCTIONS = str(Path(__file__).parent / "bridge" / "fanout_functions.py")


@pytest.mark.parametrize("kind", ["rabbitmq", "redis"])
def test_worker_and_bridge_serve_probes_of_their_real_state(
    kind: str, request: Any, tmp_path: Path
) -> None:
    url = request.getfixturevalue(f"{kind}_url")
    ports = {"worker": free_port(), "bridge": free_port()}
    args = {
        "worker": ["worker", "fan-exact", "--functions", FUNCTIONS, "--pool", "prefork", "-c", "2"],
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
        for name, port in ports.items():
            live = wait_probe(port, "/healthz", 200)
            assert live["loops"][name]["alive"] is True, live
            body = wait_probe(port, "/readyz", 200)
            assert body["checks"]["broker"] is True
        assert probe(ports["bridge"], "/readyz")[1]["checks"]["subscriptions"] is True
    finally:
        codes = {name: proc.terminate() for name, proc in procs.items()}
    assert codes == {"worker": 0, "bridge": 0}
    for port in ports.values():
        assert probe(port, "/healthz")[0] == 0, "nothing answers once the process is gone"
