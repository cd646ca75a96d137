"""One event type from publisher to handler through real bridge and worker processes.

Runs on the embedded broker, RabbitMQ and Redis (the ``broker`` fixture).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from broker_bridge.config import Settings
from broker_bridge.formats.json import to_json
from broker_bridge.publisher import Publisher
from worker_runtime.testing import EventfnProcess, wait_until

RECORDER = str(Path(__file__).with_name("recorder.py"))
SUBSCRIBED = "com.example.e2e.recorded"
OTHER = "com.example.e2e.ignored"

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def _events(count_subscribed: int, count_other: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for i in range(count_subscribed):
        events.append(
            {
                "type": SUBSCRIBED,
                "source": "/e2e/publisher",
                "id": f"sub-{i}",
                "subject": f"item/{i}",
                "datacontenttype": "application/json",
                "exttrace": f"t{i}",
                "data": {"i": i, "text": "héllo ✓", "nested": {"ok": True, "n": [1, 2.5]}},
            }
        )
        if i % 5 == 0 and len(events) < count_subscribed + count_other:
            n = i // 5
            if n < count_other:
                events.append(
                    {"type": OTHER, "source": "/e2e/publisher", "id": f"other-{n}", "data": "x"}
                )
    return events


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _start(args: list[str], tmp_path: Path, name: str, env: dict[str, str]) -> EventfnProcess:
    ready = "bridge consuming" if args[0] == "bridge" else "ready."
    return EventfnProcess(
        args, log_path=tmp_path / f"{name}.log", env=env, cwd=tmp_path, ready_line=ready
    ).start()


def _publish(url: str, events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    with Publisher(url, settings=Settings(broker_url=url)) as publisher:
        sent = publisher.publish_many(events)
    return {ce.get_id(): json.loads(to_json(ce)) for ce in sent if ce.get_type() == SUBSCRIBED}


def _assert_exactly_once(record_file: Path, published: dict[str, dict[str, Any]]) -> None:
    records = _records(record_file)
    ids = Counter(rec["event"]["id"] for rec in records)
    duplicates = {key: n for key, n in ids.items() if n > 1}
    assert not duplicates, f"handled more than once: {duplicates}"
    assert set(ids) == set(published), "handled set differs from the subscribed events"
    for rec in records:
        assert rec["event"] == published[rec["event"]["id"]], "attributes or data changed"


@pytest.mark.parametrize("restart_worker", [False, True], ids=["steady", "worker-restart"])
def test_events_reach_the_subscribed_function_once(
    broker: Any, tmp_path: Path, restart_worker: bool
) -> None:
    broker.reset(["recorder"])
    record_file = tmp_path / "records.jsonl"
    env = {"EVENTFN_BROKER_URL": broker.url, "EVENTFN_TEST_RECORD": str(record_file)}
    bridge = _start(["bridge", "--functions", RECORDER], tmp_path, "bridge", env)
    worker = _start(["worker", "recorder", "--functions", RECORDER, "-c", "2"], tmp_path, "w1", env)
    try:
        events = _events(500, 100)
        assert sum(1 for e in events if e["type"] == OTHER) == 100
        if restart_worker:
            published = _publish(broker.url, events[: len(events) // 2])
            wait_until(lambda: len(_records(record_file)) >= 200, timeout=180)
            assert worker.terminate(grace=60) == 0
            published |= _publish(broker.url, events[len(events) // 2 :])
            worker = _start(
                ["worker", "recorder", "--functions", RECORDER, "-c", "2"], tmp_path, "w2", env
            )
        else:
            published = _publish(broker.url, events)
        assert len(published) == 500
        wait_until(
            lambda: len(_records(record_file)) >= 500,
            timeout=300,
            message=lambda: f"500 records, have {len(_records(record_file))}",
        )
        bridge.wait_for_log("no subscription matches", count=100, timeout=120)
    finally:
        worker.terminate(grace=60)
        bridge.terminate(grace=60)
    _assert_exactly_once(record_file, published)
    if restart_worker:
        pids = {rec["pid"] for rec in _records(record_file)}
        assert len(pids) >= 2, "the second worker handled nothing"
