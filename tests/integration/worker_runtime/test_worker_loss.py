"""Nothing is lost when a worker dies mid-handler (SIGKILL) or a handler overruns its
hard timeout: the event runs again, and the lost attempt is counted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from wr_support import depth, drain, event_json, isolated, records, send, worker

from worker_runtime.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_sigkill_mid_handler_runs_the_event_on_another_worker(broker: Any, tmp_path: Path) -> None:
    broker = isolated(broker)
    broker.reset(["victim"])
    record_file = tmp_path / "records.jsonl"
    first = worker(tmp_path, broker.url, "victim", "-c", "1", name="w1").start()
    try:
        send(broker.url, "victim", [event_json("v-1", {"seconds": 1.5})])
        wait_until(lambda: records(record_file, "victim"), timeout=60)
    finally:
        first.kill()
    assert [r["phase"] for r in records(record_file, "victim")] == ["start"]
    with worker(tmp_path, broker.url, "victim", "-c", "1", name="w2"):
        wait_until(
            lambda: any(r["phase"] == "end" for r in records(record_file, "victim")),
            timeout=120,
            message="the event to run again on the second worker",
        )
    rows = records(record_file, "victim")
    assert [(r["phase"], r["attempt"]) for r in rows] == [
        ("start", 1),
        ("start", 2),
        ("end", 2),
    ], "the lost attempt is counted"
    assert rows[1]["pid"] != rows[0]["pid"]
    assert depth(broker.url, "eventfn.fn.victim") == 0


def test_hard_timeout_replaces_the_process_and_counts_the_attempt(
    broker: Any, tmp_path: Path
) -> None:
    broker = isolated(broker)
    broker.reset(["stuck"])
    record_file = tmp_path / "records.jsonl"
    with worker(tmp_path, broker.url, "stuck", "-c", "1", "--pool", "prefork") as w:
        send(broker.url, "stuck", [event_json("s-1")])
        w.wait_for_log("dead-lettered", timeout=120)
    rows = records(record_file, "stuck")
    assert [r["attempt"] for r in rows] == [1, 2]
    assert rows[0]["pid"] != rows[1]["pid"], "the pool process was replaced"
    (letter,) = drain(broker.url, "eventfn.fn.stuck.dlq")
    assert letter[1]["eventfnerrortype"].endswith("HandlerLost")
    assert letter[1]["eventfnattempts"] == 2
