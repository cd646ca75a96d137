"""From zero local workers on real RabbitMQ: a burst scales up to the maximum, drains,
and scales back to zero after the cooldown; nothing lost, no handler interrupted.

The bridge runs as a real ``eventfn bridge`` process; the autoscaler runs in-process
(:class:`k8s.dev.autoscaling.LocalAutoscaling`, what ``eventfn dev`` embeds) and starts real
``eventfn worker`` processes.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from kombu import Connection

from broker_bridge.config import Settings
from broker_bridge.publisher import Publisher
from k8s.autoscaler import FunctionStatus
from k8s.dev.autoscaling import LocalAutoscaling
from k8s.scaling import ScalingPolicy
from worker_runtime.registry import use_registry
from worker_runtime.testing import EventfnProcess, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.rabbitmq, pytest.mark.timeout(600)]

FUNCTIONS = str(Path(__file__).with_name("scaled_functions.py"))
QUEUES = ["eventfn.bridge", "eventfn.activate", "eventfn.fn.scaled", "eventfn.fn.scaled.dlq"]
EVENTS = 2000
POLICY = ScalingPolicy(
    max_replicas=4,
    target_backlog=10,
    cooldown_seconds=3,
    scale_down_stabilization_seconds=2,
    scale_up_max_step=4,
)


def _purge(url: str) -> None:
    with Connection(url) as conn:
        channel = conn.channel()
        for name in QUEUES:
            try:
                channel.queue_delete(name)
            except Exception:
                channel = conn.channel()
        channel.close()


def _records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _ends(path: Path) -> int:
    return sum(1 for record in _records(path) if record["phase"] == "end")


def test_burst_from_zero_to_max_and_back_to_zero(rabbitmq_url, tmp_path):
    _purge(rabbitmq_url)
    record = tmp_path / "records.jsonl"
    env = {
        "EVENTFN_BROKER_URL": rabbitmq_url,
        "EVENTFN_TEST_RECORD": str(record),
        "EVENTFN_LOG_FORMAT": "json",
    }
    bridge = EventfnProcess(
        ["bridge", "--functions", FUNCTIONS],
        log_path=tmp_path / "bridge.log",
        env=env,
        cwd=tmp_path,
        ready_line="bridge consuming",
    ).start()
    statuses: list[FunctionStatus] = []
    sys.modules.pop("eventfn_user_scaled_functions", None)  # register into a fresh registry
    with use_registry():
        scaling = LocalAutoscaling(
            FUNCTIONS,
            broker_url=rabbitmq_url,
            state_dir=tmp_path / "state",
            policy=POLICY,
            interval=0.5,
            log_dir=tmp_path / "workers",
            env={**os.environ, **env},
            on_decision=statuses.append,
        )
    stop = threading.Event()
    thread = threading.Thread(target=scaling.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(lambda: scaling.autoscaler.passes >= 2, timeout=30)
        assert scaling.actuator.all_replicas() == []  # from zero
        events = [
            {"type": "com.example.e2e.scaled", "source": "/e2e/k8s", "id": f"ev-{i}", "data": i}
            for i in range(EVENTS)
        ]
        with Publisher(rabbitmq_url, settings=Settings(broker_url=rabbitmq_url)) as publisher:
            publisher.publish_many(events)
        wait_until(
            lambda: _ends(record) >= EVENTS,
            timeout=240,
            interval=0.2,
            message=lambda: f"{EVENTS} handled, have {_ends(record)}",
        )
        wait_until(
            lambda: statuses and statuses[-1].decision.replicas == 0 and not _live(scaling),
            timeout=60,
            interval=0.1,
            message="scaled back to zero",
        )
    finally:
        stop.set()
        thread.join(timeout=120)
        bridge.terminate(grace=30)

    peak = max(status.decision.replicas for status in statuses)
    assert peak == POLICY.max_replicas
    activation = next(s for s in statuses if s.decision.replicas > 0)
    assert activation.decision.current == 0
    back_to_zero = [s for s in statuses if s.decision.reason == "scale-to-zero"]
    assert back_to_zero, "never scaled to zero"
    assert back_to_zero[-1].observation.in_flight == 0
    assert back_to_zero[-1].observation.work == 0
    # AMQP cannot see unacked messages: the workers' in-flight reports stood in for them
    assert any(s.observation.in_flight > 0 for s in statuses)
    assert all(s.observation.unacked == 0 for s in statuses)

    records = _records(record)
    ends = Counter(r["id"] for r in records if r["phase"] == "end")
    assert set(ends) == {f"ev-{i}" for i in range(EVENTS)}, "events lost"
    assert not {k: n for k, n in ends.items() if n > 1}, "handled twice"
    open_handlers: dict[tuple[int, str], int] = defaultdict(int)
    for r in records:
        open_handlers[(r["pid"], r["id"])] += 1 if r["phase"] == "start" else -1
    assert not {k: v for k, v in open_handlers.items() if v}, "a handler was interrupted"
    pids = {r["pid"] for r in records}
    assert len(pids) >= POLICY.max_replicas
    exits = scaling.actuator.exits
    assert exits
    assert all(e.requested and e.code == 0 for e in exits), exits


def _live(scaling: LocalAutoscaling) -> bool:
    return any(r.proc.poll() is None for r in scaling.actuator.all_replicas())
