"""The broker stops during a stream of POSTs: no 202 without the broker's confirm.

A private RabbitMQ node (stopped and started by the test) behind a real
``eventfn ingress``; client threads POST events (single and batches) without
pause. The node is stopped mid-stream and started again. Every request must be
answered 202 or 503 (with Retry-After); once the broker is back, a bridge and a
worker are started and every event of every 202 must be handled.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.rabbitmq_node import RabbitMQNode, node_or_skip

from worker_runtime.testing import EventfnProcess, wait_until

RECORDER = str(Path(__file__).with_name("ingress_recorder.py"))
CLIENTS = 4
MAX_REQUESTS = 20_000  # a bound on the stream, whatever happens

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(900)]


@pytest.fixture
def node() -> Iterator[RabbitMQNode]:
    with node_or_skip() as started:
        yield started


class Stream:
    """Client threads POSTing events until stopped; every answer recorded."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.answers: list[tuple[list[str], int, dict[str, str]]] = []
        self.errors: list[str] = []
        self.threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(CLIENTS)
        ]

    def start(self) -> Stream:
        for thread in self.threads:
            thread.start()
        return self

    def _run(self, client: int) -> None:
        with httpx.Client(base_url=self.url, timeout=120) as http:
            for n in range(MAX_REQUESTS // CLIENTS):
                if self.stop.is_set():
                    return
                size = 5 if n % 4 == 3 else 1
                ids = [f"c{client}-r{n}-e{i}" for i in range(size)]
                events = [
                    {
                        "specversion": "1.0",
                        "id": event_id,
                        "source": "/tests/outage",
                        "type": "com.example.ingress.outage",
                        "data": {"id": event_id},
                    }
                    for event_id in ids
                ]
                if size == 1:
                    headers = {"content-type": "application/cloudevents+json"}
                    body = json.dumps(events[0])
                else:
                    headers = {"content-type": "application/cloudevents-batch+json"}
                    body = json.dumps(events)
                try:
                    response = http.post("/", headers=headers, content=body)
                except httpx.HTTPError as exc:  # the ingress must always answer
                    with self.lock:
                        self.errors.append(f"{ids[0]}: {exc!r}")
                    continue
                with self.lock:
                    self.answers.append((ids, response.status_code, dict(response.headers)))

    def count(self, status: int) -> int:
        with self.lock:
            return sum(1 for _, code, _ in self.answers if code == status)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=300)


def _records(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["event"]["id"] for line in path.read_text().splitlines() if line]


def test_every_202_is_handled_after_the_broker_restarts_and_the_rest_got_503(
    node: RabbitMQNode, tmp_path: Path
) -> None:
    records = tmp_path / "records.jsonl"
    env = {
        "EVENTFN_BROKER_URL": node.url,
        "EVENTFN_TEST_RECORD": str(records),
        "EVENTFN_INGRESS_RETRY_AFTER": "1",
    }
    ingress = EventfnProcess(
        ["ingress", "--functions", RECORDER, "--port", "0"],
        log_path=tmp_path / "ingress.log",
        env=env,
        cwd=tmp_path,
        ready_line="ingress listening",
    ).start(timeout=120)
    processes = [ingress]
    try:
        line = next(x for x in ingress.log_text().splitlines() if "ingress listening" in x)
        stream = Stream(f"http://127.0.0.1:{json.loads(line)['port']}").start()
        try:
            wait_until(lambda: stream.count(202) >= 200, timeout=120, message="202s before stop")
            node.stop()
            refused_at_stop = stream.count(503)
            wait_until(
                lambda: stream.count(503) >= refused_at_stop + 50,
                timeout=120,
                message="503s while the broker is down",
            )
            node.start()
            accepted_at_start = stream.count(202)
            wait_until(
                lambda: stream.count(202) >= accepted_at_start + 200,
                timeout=180,
                message="202s after the broker is back",
            )
        finally:
            stream.finish()
        assert not stream.errors, stream.errors[:5]
        statuses = Counter(code for _, code, _ in stream.answers)
        assert set(statuses) <= {202, 503}, statuses
        assert all(
            headers.get("retry-after") == "1" for _, code, headers in stream.answers if code == 503
        )
        accepted = {event_id for ids, code, _ in stream.answers if code == 202 for event_id in ids}

        for name, args, ready in [
            ("bridge", ["bridge", "--functions", RECORDER], "bridge consuming"),
            (
                "worker",
                ["worker", "ingress-recorder", "--functions", RECORDER, "-c", "2"],
                "ready.",
            ),
        ]:
            process = EventfnProcess(
                args, log_path=tmp_path / f"{name}.log", env=env, cwd=tmp_path, ready_line=ready
            )
            processes.append(process.start(timeout=120))
        wait_until(
            lambda: set(_records(records)) >= accepted,
            timeout=600,
            interval=0.5,
            message=lambda: (
                f"{len(accepted)} accepted events handled; "
                f"{len(accepted - set(_records(records)))} missing"
            ),
        )
        print(f"answers: {dict(statuses)}; accepted events: {len(accepted)}")
    finally:
        for process in reversed(processes):
            process.terminate(grace=60)
