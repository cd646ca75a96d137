"""``eventfn autoscale`` as a real process on the embedded broker, with a real bridge:
an event starts a worker from zero, the worker goes after the cooldown, and SIGTERM
stops the autoscaler cleanly."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from broker_bridge.config import Settings
from broker_bridge.publisher import Publisher
from broker_bridge.transport import sqlite
from worker_runtime.supervisor import pid_alive
from worker_runtime.testing import EventfnProcess, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

FUNCTIONS = str(Path(__file__).with_name("scaled_functions.py"))


def _records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_autoscale_command_on_the_embedded_broker(tmp_path):
    sqlite.register()
    url = f"sqlite://localhost/{tmp_path / 'state' / 'broker.db'}"
    record = tmp_path / "records.jsonl"
    env = {"EVENTFN_BROKER_URL": url, "EVENTFN_TEST_RECORD": str(record)}
    bridge = EventfnProcess(
        ["bridge", "--functions", FUNCTIONS],
        log_path=tmp_path / "bridge.log",
        env=env,
        cwd=tmp_path,
        ready_line="bridge consuming",
    ).start()
    autoscale = EventfnProcess(
        [
            "autoscale",
            "--functions",
            FUNCTIONS,
            "--interval",
            "0.5",
            "--cooldown",
            "1",
            "--stabilization",
            "0",
            "--log-dir",
            str(tmp_path / "workers"),
        ],
        log_path=tmp_path / "autoscale.log",
        env=env,
        cwd=tmp_path,
        ready_line="autoscaler running",
    ).start()
    try:
        with Publisher(url, settings=Settings(broker_url=url)) as publisher:
            publisher.publish({"type": "com.example.e2e.scaled", "source": "/t", "id": "one"})
        wait_until(lambda: [r for r in _records(record) if r["phase"] == "end"], timeout=120)
        autoscale.wait_for_log('"reason": "activate"', timeout=30)
        autoscale.wait_for_log('"reason": "scale-to-zero"', timeout=60)
        autoscale.wait_for_log("worker stopped", timeout=60)
        autoscale.proc.send_signal(signal.SIGTERM)
        assert autoscale.proc.wait(timeout=60) == 0
    finally:
        autoscale.terminate(grace=30)
        bridge.terminate(grace=30)
    (worker_pid,) = {r["pid"] for r in _records(record)}
    assert not pid_alive(worker_pid)
    assert "autoscaler stopped" in autoscale.log_text()
