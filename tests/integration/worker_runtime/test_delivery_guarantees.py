"""Idempotency (1,000 events delivered twice run once each), graceful SIGTERM,
handlers longer than the broker's default ack deadline, and replies."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis
from wr_support import depth, drain, event_json, isolated, records, send, worker

from broker_bridge.transport import sqlite
from worker_runtime.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]


def test_duplicates_of_an_idempotent_function_run_once(broker: Any, tmp_path: Path) -> None:
    broker = isolated(broker)
    broker.reset(["idem"])
    record_file = tmp_path / "records.jsonl"
    bodies = [event_json(f"idem-{i}", {"i": i}) for i in range(1000)]
    send(broker.url, "idem", bodies, copies=2)
    workers = [
        worker(tmp_path, broker.url, "idem", "-c", "2", name=f"w{n}").start() for n in (1, 2)
    ]
    try:

        def skipped() -> int:
            return sum(w.log_text().count('"duplicate skipped"') for w in workers)

        wait_until(
            lambda: skipped() >= 1000,
            timeout=300,
            message=lambda: (
                f"1000 skipped duplicates, have {skipped()}, {len(records(record_file))} calls"
            ),
        )
    finally:
        for w in workers:
            w.terminate(grace=60)
    calls = Counter(r["id"] for r in records(record_file, "idem"))
    assert len(calls) == 1000
    assert set(calls.values()) == {1}, "the side effect ran more than once for some event"
    assert depth(broker.url, "eventfn.fn.idem") == 0


def test_sigterm_lets_the_running_handler_finish_and_acks_once(broker: Any, tmp_path: Path) -> None:
    broker = isolated(broker)
    broker.reset(["slow"])
    record_file = tmp_path / "records.jsonl"
    w = worker(tmp_path, broker.url, "slow", "-c", "1").start()
    try:
        send(broker.url, "slow", [event_json("term-1", {"seconds": 2})])
        wait_until(lambda: records(record_file, "slow"), timeout=60)
    finally:
        code = w.terminate(grace=60)
    assert code == 0
    assert [r["phase"] for r in records(record_file, "slow")] == ["start", "end"]
    assert depth(broker.url, "eventfn.fn.slow") == 0, "acked, not requeued"
    # and nothing comes back to a fresh worker
    with worker(tmp_path, broker.url, "slow", "-c", "1", name="after"):
        send(broker.url, "slow", [event_json("term-2", {"seconds": 0})])
        wait_until(lambda: len(records(record_file, "slow")) >= 4, timeout=60)
    assert [r["id"] for r in records(record_file, "slow")] == ["term-1"] * 2 + ["term-2"] * 2


def _run_longer_than_default_deadline(url: str, tmp_path: Path) -> None:
    record_file = tmp_path / "records.jsonl"
    # the broker's default deadline (visibility timeout) is 1 s; the handler takes 7 s
    env = {"EVENTFN_EMBEDDED_VISIBILITY_TIMEOUT": "1"}
    w1 = worker(tmp_path, url, "slow", "-c", "1", name="w1", env=env).start()
    w2 = worker(tmp_path, url, "slow", "-c", "1", name="w2", env=env).start()
    try:
        send(url, "slow", [event_json("long-1", {"seconds": 7})])
        wait_until(
            lambda: any(r["phase"] == "end" for r in records(record_file, "slow")), timeout=120
        )
    finally:
        w1.terminate(grace=60)
        w2.terminate(grace=60)
    assert [r["phase"] for r in records(record_file, "slow")] == ["start", "end"]
    assert depth(url, "eventfn.fn.slow") == 0


def test_handler_longer_than_the_default_ack_deadline_runs_once_embedded(
    tmp_path: Path,
) -> None:
    sqlite.register()
    _run_longer_than_default_deadline(
        f"sqlite://localhost/{tmp_path / 'state' / 'broker.db'}", tmp_path
    )


@pytest.mark.redis
def test_handler_longer_than_the_default_ack_deadline_runs_once_redis(
    redis_url: str, tmp_path: Path
) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    _run_longer_than_default_deadline(redis_url, tmp_path)


@pytest.mark.rabbitmq
def test_worker_refuses_a_rabbitmq_consumer_timeout_below_its_deadline(
    rabbitmq_url: str, tmp_path: Path
) -> None:
    """RabbitMQ 3.10 has no per-queue consumer timeout (x-consumer-timeout is 3.12+):
    the worker checks the node's value (declared in EVENTFN_RABBITMQ_CONSUMER_TIMEOUT)
    against the function's ack deadline and refuses to start below it."""
    env = {"EVENTFN_RABBITMQ_CONSUMER_TIMEOUT": "10"}
    proc = worker(tmp_path, rabbitmq_url, "slow", env=env)
    proc.ready_line = None
    proc.start()
    assert proc.proc is not None
    assert proc.proc.wait(timeout=120) == 1
    assert "consumer_timeout is 10s" in proc.log_text()


def test_replies_go_to_the_bridge_with_source_hops_and_trace(broker: Any, tmp_path: Path) -> None:
    broker = isolated(broker)
    broker.reset(["replier"])
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    body = event_json("ask-1", {"q": 1}, traceparent=trace, eventfnhops=2)
    with worker(tmp_path, broker.url, "replier", "-c", "1") as w:
        send(broker.url, "replier", [body])
        w.wait_for_log("succeeded", timeout=60)
    (reply,) = drain(broker.url, "eventfn.bridge")
    assert reply[2] == "application/cloudevents+json"
    event = json.loads(reply[0])
    assert event["type"] == "com.example.reply"
    assert event["source"] == "eventfn://functions/replier"
    assert event["data"] == {"in_reply_to": "ask-1"}
    assert event["eventfnhops"] == 3
    # no OpenTelemetry SDK here: the API records no span and passes the context on as
    # it came (tests/e2e/test_tracing.py has the spans with an SDK)
    assert event["traceparent"] == trace
