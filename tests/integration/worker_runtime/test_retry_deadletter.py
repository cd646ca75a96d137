"""Retries follow the policy; permanent failures are dead-lettered byte for byte and
come back with ``eventfn dlq replay``; invalid typed data is never retried.

Real ``eventfn worker`` processes on the embedded broker, RabbitMQ and Redis.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from wr_support import (
    depth,
    event_json,
    isolated,
    records,
    send,
    worker,
)

from worker_runtime.deadletter import HEADER_NAMES
from worker_runtime.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

EVENTFN = [sys.executable, "-c", "from broker_bridge.cli import main; main()"]


def eventfn(url: str, *args: str) -> str:
    done = subprocess.run(
        [*EVENTFN, *args],
        env={**os.environ, "EVENTFN_BROKER_URL": url, "EVENTFN_LOG_LEVEL": "WARNING"},
        capture_output=True,
        check=True,
        timeout=120,
    )
    return done.stdout.decode()


def test_fails_twice_then_succeeds_with_policy_spacing(broker: Any, tmp_path: Path) -> None:
    broker = isolated(broker)
    broker.reset(["flaky"])
    record_file = tmp_path / "records.jsonl"
    with worker(tmp_path, broker.url, "flaky", "-c", "1"):
        send(broker.url, "flaky", [event_json("flaky-1")])
        wait_until(lambda: len(records(record_file, "flaky")) >= 3, timeout=60)
    calls = records(record_file, "flaky")
    assert [c["attempt"] for c in calls] == [1, 2, 3]
    # policy: exponential, delay 0.6, no jitter -> 0.6 s then 1.2 s before attempts 2 and 3
    gaps = [b["t"] - a["t"] for a, b in pairwise(calls)]
    for gap, expected in zip(gaps, [0.6, 1.2], strict=True):
        assert expected - 0.05 <= gap <= expected + 1.5, gaps
    assert gaps[1] > gaps[0], "backoff must grow"


def test_permanent_failure_is_dead_lettered_and_replayed(broker: Any, tmp_path: Path) -> None:
    broker = isolated(broker)
    broker.reset(["doomed"])
    record_file = tmp_path / "records.jsonl"
    body = event_json("doomed-1", {"order": 7, "note": "héllo ✓"}, exttrace="abc")
    with worker(tmp_path, broker.url, "doomed", "-c", "1") as w:
        send(broker.url, "doomed", [body])
        w.wait_for_log("dead-lettered", timeout=60)
        listing = eventfn(broker.url, "dlq", "list", "doomed", "--json")
        letters = [json.loads(line) for line in listing.splitlines() if line.strip()]
        assert len(letters) == 1
        assert letters[0]["event"] == json.loads(body)
        ext = letters[0]["extensions"]
        assert set(ext) == set(HEADER_NAMES)
        assert ext["eventfnfunction"] == "doomed"
        assert ext["eventfnerrortype"] == "worker_runtime.errors.PermanentError"
        assert "warehouse 'x' unknown" in ext["eventfnerror"]
        assert "PermanentError" in ext["eventfntraceback"]
        assert ext["eventfnattempts"] == 1, "a permanent error is never retried"
        assert ext["eventfnfirstfailure"] <= ext["eventfnlastfailure"]
        assert depth(broker.url, "eventfn.fn.doomed.dlq") == 1, "list must not consume"
        # byte for byte: the raw DLQ body is the published JSON text
        from wr_support import drain

        raw = drain(broker.url, "eventfn.fn.doomed.dlq")
        assert raw[0][0] == body.encode()
        assert raw[0][2] == "application/cloudevents+json"
        # put it back as the worker would, then fix the handler and replay
        send_dlq_back(broker.url, raw)
        (tmp_path / "fixed").touch()
        out = eventfn(broker.url, "dlq", "replay", "doomed", "--to", "function")
        assert "replayed 1 event" in out
        wait_until(lambda: len(records(record_file, "doomed")) >= 2, timeout=60)
        w.wait_for_log("succeeded", timeout=30)
    assert [c["attempt"] for c in records(record_file, "doomed")] == [1, 1]
    assert depth(broker.url, "eventfn.fn.doomed.dlq") == 0
    assert depth(broker.url, "eventfn.fn.doomed") == 0


def send_dlq_back(url: str, raw: list[tuple[bytes, dict[str, Any], str]]) -> None:
    from kombu import Connection, Queue

    from broker_bridge.transport import sqlite

    sqlite.register()
    name = "eventfn.fn.doomed.dlq"
    with Connection(url, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer()
        for body, headers, content_type in raw:
            producer.publish(
                body,
                exchange="",
                routing_key=name,
                declare=[Queue(name, exchange="", routing_key=name, durable=True)],
                headers=headers,
                content_type=content_type,
                content_encoding="utf-8",
            )


def test_invalid_typed_data_is_dead_lettered_without_retry(broker: Any, tmp_path: Path) -> None:
    broker = isolated(broker)
    broker.reset(["typed"])
    record_file = tmp_path / "records.jsonl"
    with worker(tmp_path, broker.url, "typed", "-c", "1") as w:
        send(
            broker.url,
            "typed",
            [
                event_json("bad", {"order_id": "nope"}),
                event_json("good", {"order_id": 3, "amount": 2}),
            ],
        )
        w.wait_for_log("dead-lettered", timeout=60)
        wait_until(lambda: records(record_file, "typed"), timeout=60)
    assert [r["order_id"] for r in records(record_file, "typed")] == [3]
    from wr_support import drain

    (letter,) = drain(broker.url, "eventfn.fn.typed.dlq")
    headers = letter[1]
    assert headers["eventfnerrortype"].endswith("InvalidEventData")
    assert "order_id" in headers["eventfnerror"]
    assert headers["eventfnattempts"] == 1
