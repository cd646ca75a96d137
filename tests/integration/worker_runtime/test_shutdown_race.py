"""A graceful SIGTERM that lands while events stream in neither stalls nor duplicates.

The race (Celery 5.7 prefork pool, late acks): a message written to a pool process
just before SIGTERM, whose "started" notice the event loop had not read yet, was
dropped from the pool's job cache at shutdown although the process still ran it.
The pool then stopped reading results, so the handler's ack was never sent (the
message came back and ran again on the next worker) and the worker waited out its
whole shutdown grace. :class:`worker_runtime.shutdown.FinishHandedOver` keeps such
jobs. The race is made likely by keeping each worker saturated (a backlog and a
steady stream of short events) when it gets SIGTERM, several times in a row.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from kombu import Connection, Queue
from wr_support import depth, event_json, isolated, records, worker

from broker_bridge.taskmessage import build_task_message
from worker_runtime.testing import EventfnProcess, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

FUNCTION = "noop"
QUEUE = f"eventfn.fn.{FUNCTION}"
ROUNDS = 4
BACKLOG = 150  # queued before each worker starts, so it is busy when told to stop
HANDLED_BEFORE_SIGTERM = 60
STREAM_BATCH = 4  # events published every STREAM_PAUSE seconds while workers run
STREAM_PAUSE = 0.02
GRACE = "20"  # a handler-free warm shutdown takes a second or two; the bug waited 30 s


class Stream:
    """Publishes short events to the function's queue from a thread until stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sent: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="event-stream", daemon=True)

    def publish(self, count: int, prefix: str) -> None:
        with Connection(self.url, transport_options={"confirm_publish": True}) as conn:
            self._publish(conn, count, prefix)

    def _publish(self, conn: Connection, count: int, prefix: str) -> None:
        queue = Queue(QUEUE, exchange="", routing_key=QUEUE, durable=True)
        producer = conn.Producer()
        for _ in range(count):
            with self._lock:
                event_id = f"{prefix}-{len(self.sent)}"
                self.sent.append(event_id)
            body = event_json(event_id)
            task = build_task_message(FUNCTION, body, "/tests/worker", event_id)
            producer.publish(
                task.body,
                exchange="",
                routing_key=QUEUE,
                declare=[queue],
                headers=task.headers,
                content_type=task.content_type,
                content_encoding=task.content_encoding,
                **task.properties,
            )

    def _run(self) -> None:
        try:
            with Connection(self.url, transport_options={"confirm_publish": True}) as conn:
                while not self._stop.wait(STREAM_PAUSE):
                    self._publish(conn, STREAM_BATCH, "stream")
        except BaseException as exc:  # reported by stop()
            self._error = exc

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        assert not self._thread.is_alive(), "the event stream did not stop"
        if self._error is not None:
            raise AssertionError(f"the event stream failed: {self._error!r}")


@pytest.fixture(
    params=[
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("rabbitmq", marks=pytest.mark.rabbitmq),
    ]
)
def server(request: pytest.FixtureRequest) -> Any:
    """Redis or RabbitMQ (not the embedded broker: it has no event loop, no race)."""
    kind = str(request.param)
    target = isolated(SimpleNamespace(kind=kind, url=request.getfixturevalue(f"{kind}_url")))
    if kind == "redis":  # this test session's own database
        redis.Redis.from_url(target.url).flushdb()
    else:  # a fresh queue in this test module's vhost
        with Connection(target.url) as conn:
            conn.channel().queue_delete(QUEUE)
    return target


def _assert_clean_warm_shutdown(proc: EventfnProcess, code: int) -> None:
    text = proc.log_text()
    assert "Warm shutdown" in text, f"{proc.log_path.name}: no warm shutdown logged"
    assert "shutdown grace period over" not in text, (
        f"{proc.log_path.name}: the warm shutdown ran out its grace:\n{text[-3000:]}"
    )
    assert "Cold shutdown" not in text, f"{proc.log_path.name}: escalated to a cold shutdown"
    assert code == 0, f"{proc.log_path.name}: exit code {code}:\n{text[-3000:]}"


def test_sigterm_during_a_stream_handles_every_event_once(server: Any, tmp_path: Path) -> None:
    record_file = tmp_path / "records.jsonl"
    stream = Stream(server.url)
    stopped: list[tuple[EventfnProcess, int]] = []
    handed_over = 0
    stream.start()
    try:
        for n in range(1, ROUNDS + 1):
            stream.publish(BACKLOG, f"backlog{n}")
            args = ("-c", "2", "--shutdown-grace", GRACE)
            proc = worker(tmp_path, server.url, FUNCTION, *args, name=f"w{n}").start()
            goal = len(records(record_file, FUNCTION)) + HANDLED_BEFORE_SIGTERM

            def busy(goal: int = goal) -> bool:
                return len(records(record_file, FUNCTION)) >= goal

            try:
                wait_until(
                    busy,
                    timeout=180,
                    message=f"worker {n} to handle {HANDLED_BEFORE_SIGTERM} events",
                )
            finally:
                code = proc.terminate(grace=120)  # SIGTERM while events keep arriving
            stopped.append((proc, code))
            handed_over += proc.log_text().count("waiting for handlers already handed over")
    finally:
        stream.stop()
    total = len(stream.sent)
    expected = set(stream.sent)

    def unhandled() -> set[str]:
        return expected - {row["id"] for row in records(record_file, FUNCTION)}

    last = worker(tmp_path, server.url, FUNCTION, "-c", "2", name="last").start()
    try:
        wait_until(
            lambda: not unhandled(),
            timeout=300,
            message=lambda: f"all {total} events handled, {len(unhandled())} left",
        )
    finally:
        stopped.append((last, last.terminate(grace=120)))
    # a message restored after its handler ran would still be waiting here
    assert depth(server.url, QUEUE) == 0, "messages left in the queue after every event ran"
    for proc, code in stopped:
        _assert_clean_warm_shutdown(proc, code)
    handled = Counter(row["id"] for row in records(record_file, FUNCTION))
    twice = {event_id: n for event_id, n in handled.items() if n > 1}
    assert not twice, f"handled more than once after a graceful SIGTERM: {json.dumps(twice)}"
    assert set(handled) == expected
    print(f"{total} events, {ROUNDS} SIGTERMs, {handed_over} with jobs handed over at shutdown")
