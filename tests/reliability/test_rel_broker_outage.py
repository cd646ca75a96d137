"""The broker stops for 10 s during a run and comes back: every part reconnects on its own.

On the private node: a Publisher (SDK) thread and an HTTP client (through a real
``eventfn ingress``) feed events while a bridge and two workers (``rel-plain``,
``rel-idem``) handle them. Mid-run the node is stopped (``rabbitmqctl stop``),
kept down 10 s, and started again on the same port. Nobody restarts our
processes: the same Publisher object, ingress, bridge and workers must carry on.
An event counts as accepted when ``publish_many`` returned or the ingress said
202; a refused one (PublishError, 503) is sent again later with the same id.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from rel_functions import IDEM, PLAIN
from rel_support import (
    Background,
    Broker,
    Pipeline,
    alive,
    chunks,
    event,
    ingress_url,
    record_count,
    records,
    tally,
    wait_handled,
)

from broker_bridge.config import Settings
from broker_bridge.errors import PublishError
from broker_bridge.publisher import Publisher
from worker_runtime.testing import wait_until

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(900)]

PER_PRODUCER = 2_000
CHUNK = 25
PERIOD = 0.25  # seconds between two batches of one producer: a steady ~200 events/s
OUTAGE = 10.0  # seconds the broker stays down


def _events(prefix: str, offset: int) -> list[dict[str, Any]]:
    return [
        event(PLAIN if i % 2 == 0 else IDEM, f"{prefix}{i}")
        for i in range(offset, offset + PER_PRODUCER)
    ]


class Producers:
    def __init__(self, pipe: Pipeline, ingress: str) -> None:
        self.pipe = pipe
        self.ingress = ingress
        self.lock = threading.Lock()
        self.accepted: list[dict[str, Any]] = []
        self.refused = {"sdk": 0, "http": 0}
        self.after_restart = threading.Event()
        self.threads = [
            Background(self._sdk, "sdk-producer"),
            Background(self._http, "http-producer"),
        ]

    def _accept(self, batch: list[dict[str, Any]]) -> None:
        with self.lock:
            self.accepted.extend(batch)

    def count(self) -> int:
        with self.lock:
            return len(self.accepted)

    @staticmethod
    def _pace(started: float, sent: int) -> None:
        # a steady rate, so that the stream runs before, during and after the outage
        pause = started + sent * PERIOD - time.monotonic()
        if pause > 0:
            time.sleep(pause)

    def _sdk(self) -> None:
        settings = Settings(broker_url=self.pipe.url)
        with Publisher(self.pipe.url, settings=settings) as publisher:  # one object throughout
            started = time.monotonic()
            for n, batch in enumerate(chunks(_events("s", 0), CHUNK)):
                self._pace(started, n)
                while True:
                    try:
                        publisher.publish_many(batch)
                        break
                    except PublishError:
                        with self.lock:
                            self.refused["sdk"] += 1
                        time.sleep(0.5)  # the client's own back-off before sending again
                self._accept(batch)

    def _http(self) -> None:
        with httpx.Client(base_url=self.ingress, timeout=120) as http:
            started = time.monotonic()
            for n, batch in enumerate(chunks(_events("h", PER_PRODUCER), CHUNK)):
                self._pace(started, n)
                while True:
                    response = http.post(
                        "/",
                        json=batch,
                        headers={"content-type": "application/cloudevents-batch+json"},
                    )
                    if response.status_code == 202:
                        break
                    assert response.status_code == 503, response.text
                    assert response.headers["retry-after"] == "1"
                    with self.lock:
                        self.refused["http"] += 1
                    time.sleep(0.5)
                self._accept(batch)

    def join(self) -> None:
        for thread in self.threads:
            thread.join()


def test_broker_restart_mid_run_everything_reconnects_nothing_lost(
    rel_broker: Broker, tmp_path: Path
) -> None:
    node = rel_broker.node
    pipe = Pipeline(tmp_path, rel_broker.vhost(), {"EVENTFN_INGRESS_RETRY_AFTER": "1"})
    try:
        bridge = pipe.start("bridge", name="bridge")
        workers = [
            pipe.worker("rel-plain", "-c", "2", name="plain"),
            pipe.worker("rel-idem", "-c", "2", name="idem"),
        ]
        ingress = pipe.start("ingress", name="ingress")
        pids = {p.pid for p in pipe.processes}
        producers = Producers(pipe, ingress_url(ingress))
        wait_until(lambda: record_count(pipe.record_file) >= 800, timeout=300, interval=0.1)
        node.stop()
        try:
            stopped = time.monotonic()
            before = producers.count()
            # the outage itself: producers keep trying, everything else must wait it out
            threading.Event().wait(OUTAGE)
            during = producers.count() - before
            down_for = time.monotonic() - stopped
        finally:
            node.start()
        producers.join()
        expected: dict[str, set[str]] = {"rel-plain": set(), "rel-idem": set()}
        for item in producers.accepted:
            expected["rel-plain" if item["type"] == PLAIN else "rel-idem"].add(item["id"])
        assert sum(map(len, expected.values())) == 2 * PER_PRODUCER
        wait_handled(pipe.record_file, expected, timeout=600)
        rel_broker.wait_quiet(pipe.url, timeout=300)
        assert all(alive(p) for p in pipe.processes), "a process died instead of reconnecting"
        assert {p.pid for p in pipe.processes} == pids, "a process was restarted"
    finally:
        if not node.running:
            node.start()
        pipe.close()

    assert during <= 2 * CHUNK, "events were accepted while the broker was down"
    assert producers.refused["sdk"] >= 1, "the SDK publisher did not notice the outage"
    assert producers.refused["http"] >= 1, "the ingress did not answer 503 during the outage"
    assert "bridge lost the broker; reconnecting" in bridge.log_text()
    for worker in workers:
        assert "Connection to broker lost" in worker.log_text() or (
            "consumer: Cannot connect" in worker.log_text()
        ), worker.log_text()[-2000:]
    plain_calls = [r["id"] for r in records(pipe.record_file, "rel-plain")]
    idem_effects = [r["id"] for r in records(pipe.record_file, "rel-idem")]
    extra = {
        "down_seconds": round(down_for, 1),
        "accepted_while_down": during,
        "refused_batches": producers.refused,
    }
    t_plain = tally("broker-restart", "rel-plain", expected["rel-plain"], plain_calls, **extra)
    t_idem = tally("broker-restart", "rel-idem", expected["rel-idem"], idem_effects, **extra)
    assert t_plain.lost == 0, "accepted events were lost"
    assert t_idem.lost == 0, "accepted events were lost"
    # acks in flight when the broker went away are lost with the connection: those
    # messages come again (at least once): at most the bridge's unacked input (256)
    # plus what each worker held unacked (4 x 2 prefetched + 2 running)
    assert t_plain.duplicated <= 256 + 2 * 10
    assert t_idem.duplicated == 0, "an idempotent function's effect was duplicated"
    pipe.assert_secret_never_logged()
