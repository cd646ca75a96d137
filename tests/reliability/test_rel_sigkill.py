"""SIGKILL of a worker, of a bridge and of the ingress during a 10,000-event run.

Each test runs the whole data path as real processes on a private RabbitMQ node:
events go in (``Publisher.publish_many``, or HTTP batches to ``eventfn ingress``),
the bridge routes them (half to ``rel-plain``, half to the ``idempotent=True``
``rel-idem``), workers run the handlers, which append one record line per call.
A third of the way in, one process is killed with SIGKILL (its whole process
group: a prefork worker's pool too) and a replacement is started, as a
Deployment would. Then, once every queue is empty (nothing left to deliver):

* lost = accepted events never handled: must be 0;
* duplicated (``rel-plain``) = extra handler calls, allowed by at-least-once and
  bounded by what the killed process held unacked;
* duplicated effects (``rel-idem``) must be 0, except for the one window no dedupe
  store closes: a worker killed after its handler's effect and before the key was
  marked done (at most one event per pool process of the killed worker).
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
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
    depth,
    event,
    ingress_url,
    record_count,
    records,
    tally,
    wait_handled,
)

from broker_bridge import topology
from broker_bridge.config import Settings
from broker_bridge.publisher import Publisher
from worker_runtime.testing import EventfnProcess, wait_until

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(900)]

TOTAL = 10_000
KILL_AT = 3_000  # handled (or accepted) events when the victim is killed
AHEAD = 2_000  # the producers stay at most this many events ahead of the handlers
CHUNK = 250  # events per publish_many call / per HTTP batch
WORKER_SLOTS = 2  # pool processes of each worker (-c)


def _events() -> list[dict[str, Any]]:
    return [event(PLAIN if i % 2 == 0 else IDEM, f"e{i}") for i in range(TOTAL)]


class Accepted:
    """Ids of the events the system accepted (confirmed publish, or HTTP 202)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: list[str] = []

    def add(self, batch: list[dict[str, Any]]) -> None:
        with self.lock:
            self.ids.extend(e["id"] for e in batch)

    def __len__(self) -> int:
        with self.lock:
            return len(self.ids)

    def by_function(self) -> dict[str, set[str]]:
        with self.lock:
            return {
                "rel-plain": {i for i in self.ids if int(i[1:]) % 2 == 0},
                "rel-idem": {i for i in self.ids if int(i[1:]) % 2 == 1},
            }


def _pace(pipe: Pipeline, sent: int) -> None:
    """Keep the producers at most AHEAD events ahead of the handlers."""
    wait_until(
        lambda: record_count(pipe.record_file) >= sent - AHEAD,
        timeout=600,
        interval=0.1,
        message="the handlers to catch up",
    )


def _publish(pipe: Pipeline, accepted: Accepted) -> None:
    with Publisher(pipe.url, settings=Settings(broker_url=pipe.url)) as publisher:
        for batch in chunks(_events(), CHUNK):
            _pace(pipe, len(accepted) + len(batch))
            publisher.publish_many(batch)
            accepted.add(batch)


class HttpProducer:
    """Two client threads POSTing batches to whichever ingress is current; a request
    that fails (connection refused or reset: the ingress was killed) is sent again,
    same events, same ids, like any at-least-once client."""

    def __init__(self, pipe: Pipeline, accepted: Accepted, url: str) -> None:
        self.pipe = pipe
        self.accepted = accepted
        self.url = url
        self.lock = threading.Lock()
        self.failures = 0
        self.work: queue.Queue[list[dict[str, Any]]] = queue.Queue()
        for batch in chunks(_events(), CHUNK):
            self.work.put(batch)
        self.clients = [Background(self._client, f"http-{n}") for n in range(2)]

    def _client(self) -> None:
        with httpx.Client(timeout=120) as http:
            while True:
                try:
                    batch = self.work.get_nowait()
                except queue.Empty:
                    return
                _pace(self.pipe, len(self.accepted) + len(batch))
                while not self._post(http, batch):
                    threading.Event().wait(0.1)

    def _post(self, http: httpx.Client, batch: list[dict[str, Any]]) -> bool:
        try:
            response = http.post(
                self.url + "/",
                json=batch,
                headers={"content-type": "application/cloudevents-batch+json"},
            )
        except httpx.TransportError:
            with self.lock:
                self.failures += 1
            return False
        if response.status_code == 503:
            return False
        assert response.status_code == 202, response.text
        self.accepted.add(batch)
        return True


#: (name, eventfn subcommand and arguments) of a process of the pipeline
Spec = tuple[str, list[str]]
SLOTS = ["-c", str(WORKER_SLOTS)]
BASE: list[Spec] = [
    ("bridge-1", ["bridge"]),
    ("plain-1", ["worker", "rel-plain", *SLOTS]),
    ("idem-1", ["worker", "rel-idem", *SLOTS]),
]


@dataclass(frozen=True)
class Scenario:
    extra: list[Spec]  # started with the base pipeline
    victims: list[str]  # SIGKILLed a third of the way in
    replacements: list[Spec]  # started right after, as a Deployment would
    max_plain_duplicates: int  # at-least-once: what the victims held unacked
    max_idem_duplicates: int


SCENARIOS = {
    # a second worker per function keeps consuming; the killed one's prefetched and
    # running messages (4 x slots unacked) are redelivered; for rel-idem at most one
    # effect per killed pool process can repeat (effect done, key not yet marked done)
    "worker": Scenario(
        extra=[("plain-2", BASE[1][1]), ("idem-2", BASE[2][1])],
        victims=["plain-1", "idem-1"],
        replacements=[("plain-3", BASE[1][1]), ("idem-3", BASE[2][1])],
        max_plain_duplicates=5 * WORKER_SLOTS,
        max_idem_duplicates=WORKER_SLOTS,
    ),
    # a second bridge keeps routing; the killed one's unacked input (prefetch 256) is
    # routed again
    "bridge": Scenario(
        extra=[("bridge-2", ["bridge"])],
        victims=["bridge-1"],
        replacements=[("bridge-3", ["bridge"])],
        max_plain_duplicates=256,
        max_idem_duplicates=0,
    ),
    # the clients re-send the batches the dead ingress never answered
    "ingress": Scenario(
        extra=[("ingress-1", ["ingress"])],
        victims=["ingress-1"],
        replacements=[("ingress-2", ["ingress"])],
        max_plain_duplicates=2 * CHUNK,
        max_idem_duplicates=0,
    ),
}


def _start(pipe: Pipeline, specs: list[Spec]) -> dict[str, EventfnProcess]:
    return {name: pipe.start(args[0], *args[1:], name=name) for name, args in specs}


@pytest.mark.parametrize("victim", list(SCENARIOS))
def test_sigkill_mid_run_loses_nothing(rel_broker: Broker, tmp_path: Path, victim: str) -> None:
    scenario = SCENARIOS[victim]
    pipe = Pipeline(tmp_path, rel_broker.vhost())
    accepted = Accepted()
    http: HttpProducer | None = None
    try:
        processes = _start(pipe, BASE + scenario.extra)
        if victim == "ingress":
            http = HttpProducer(pipe, accepted, ingress_url(processes["ingress-1"]))
            producer = http.clients
        else:
            producer = [Background(lambda: _publish(pipe, accepted), "publisher")]
        progress = (lambda: len(accepted)) if http else (lambda: record_count(pipe.record_file))
        wait_until(
            lambda: progress() >= KILL_AT,
            timeout=600,
            interval=0.1,
            message=f"{KILL_AT} events before the kill",
        )
        at_kill = {
            "accepted": len(accepted),
            "handled": record_count(pipe.record_file),
            "bridge_queue": depth(pipe.url, topology.BRIDGE_QUEUE),
        }
        for name in scenario.victims:
            processes[name].kill()
        replacements = _start(pipe, scenario.replacements)
        if http is not None:
            http.url = ingress_url(replacements["ingress-2"])
        for thread in producer:
            thread.join()
        assert len(accepted) == TOTAL
        expected = accepted.by_function()
        wait_handled(pipe.record_file, expected, timeout=600)
        rel_broker.wait_quiet(pipe.url, timeout=300)
        killed = [processes[name] for name in scenario.victims]
        survivors = [p for p in pipe.processes if p not in killed]
        assert all(alive(p) for p in survivors), "a process that was not killed died"
    finally:
        pipe.close()

    plain_calls = [r["id"] for r in records(pipe.record_file, "rel-plain")]
    idem_effects = [r["id"] for r in records(pipe.record_file, "rel-idem")]
    name = f"sigkill-{victim}"
    extra = {"at_kill": at_kill, "resent_requests": http.failures if http else 0}
    t_plain = tally(name, "rel-plain", expected["rel-plain"], plain_calls, **extra)
    t_idem = tally(name, "rel-idem", expected["rel-idem"], idem_effects, **extra)
    assert t_plain.accepted + t_idem.accepted == TOTAL
    assert t_plain.lost == 0, "accepted events were lost"
    assert t_idem.lost == 0, "accepted events were lost"
    assert not (set(plain_calls) | set(idem_effects)) - (
        expected["rel-plain"] | expected["rel-idem"]
    ), "a handler ran for an event nobody sent"
    assert t_plain.duplicated <= scenario.max_plain_duplicates
    assert t_idem.duplicated <= scenario.max_idem_duplicates, (
        "an idempotent function's effect was duplicated"
    )
    pipe.assert_secret_never_logged()
