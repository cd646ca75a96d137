"""Dirty faults: a silent broker, connection resets, memory and disk alarms.

Ingress, bridge and an idempotent worker run as real processes; every one reaches
the private node through a fault-injection proxy (tests/support/faultproxy.py).
A client posts one event every 50 ms throughout; mid-stream the fault starts,
lasts its fixed time, and ends. Each case asserts:

* nothing accepted is lost (every 202'd event is handled), nothing duplicated
  (the function is ``idempotent=True``);
* every request gets an answer, 503 with ``Retry-After`` while the broker cannot
  confirm, within ``EVENTFN_PUBLISH_TIMEOUT`` + 1 s (the longest is reported);
* the processes reconnect by themselves: after the fault, 202s come back (time to
  recover reported), and the pipeline handles everything.

Figures are printed as ``RELIABILITY ...`` lines and appended to
``EVENTFN_RELIABILITY_REPORT`` (docs/reliability.md quotes them).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from rel_functions import IDEM
from rel_support import (
    Broker,
    Pipeline,
    event,
    ingress_url,
    records,
    tally,
    wait_handled,
)
from support.faultproxy import FaultProxy

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(600)]

PUBLISH_TIMEOUT = 5.0
HEARTBEAT = 4.0
ENV = {
    "EVENTFN_PUBLISH_TIMEOUT": str(PUBLISH_TIMEOUT),
    "EVENTFN_BROKER_HEARTBEAT": str(HEARTBEAT),
    "EVENTFN_BROKER_CALL_TIMEOUT": "3",
    "EVENTFN_CONNECT_TIMEOUT": "3",
    "EVENTFN_INGRESS_RETRY_AFTER": "1",
}


@dataclass
class Poster:
    """Posts one event every ``interval`` seconds until stopped; keeps every answer."""

    base: str
    interval: float = 0.05
    answers: list[tuple[str, int, float, float]] = field(
        default_factory=list
    )  # id, status, at, took
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self._stop.is_set():
                event_id = f"net-{uuid.uuid4().hex}"
                started = time.monotonic()
                try:
                    response = client.post(
                        self.base + "/",
                        content=json.dumps(event(IDEM, event_id)).encode(),
                        headers={"content-type": "application/cloudevents+json"},
                    )
                    status = response.status_code
                    if status == 503:
                        assert response.headers.get("retry-after") == "1"
                except httpx.HTTPError:
                    status = 0
                self.answers.append((event_id, status, started, time.monotonic() - started))
                self._stop.wait(self.interval)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="poster", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()


def _blackhole(proxy: FaultProxy, broker: Broker) -> Callable[[], None]:
    proxy.blackhole()
    return proxy.passthrough


def _resets(proxy: FaultProxy, broker: Broker) -> Callable[[], None]:
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(4.0):
            proxy.reset()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()

    def end() -> None:
        stop.set()
        thread.join()

    return end


def _memory_alarm(proxy: FaultProxy, broker: Broker) -> Callable[[], None]:
    broker._ctl("set_vm_memory_high_watermark", "0")
    return lambda: broker._ctl("set_vm_memory_high_watermark", "0.4")


def _disk_alarm(proxy: FaultProxy, broker: Broker) -> Callable[[], None]:
    broker._ctl("set_disk_free_limit", "100000GB")
    return lambda: broker._ctl("set_disk_free_limit", "50MB")


CASES = {
    "blackhole-30s": (_blackhole, 30.0),
    "resets-every-4s-60s": (_resets, 60.0),
    "memory-alarm-20s": (_memory_alarm, 20.0),
    "disk-alarm-20s": (_disk_alarm, 20.0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_dirty_fault_mid_stream_loses_nothing_and_never_hangs(
    rel_broker: Broker, tmp_path: Path, case: str
) -> None:
    fault, duration = CASES[case]
    url = rel_broker.vhost()
    with FaultProxy("127.0.0.1", rel_broker.node.port) as proxy:
        pipe = Pipeline(tmp_path, proxy.url_for(url), dict(ENV))
        poster: Poster | None = None
        try:
            pipe.start("bridge", name="bridge")
            pipe.worker("rel-idem", name="worker")
            base = ingress_url(pipe.start("ingress", name="ingress"))
            poster = Poster(base)
            thread = poster.start()
            time.sleep(5)
            began = time.monotonic()
            end = fault(proxy, rel_broker)
            time.sleep(duration)
            end()
            ended = time.monotonic()
            time.sleep(15)
            poster.stop()
            thread.join(60)
            assert not thread.is_alive()

            answers = poster.answers
            accepted = [a[0] for a in answers if a[1] == 202]
            statuses = {a[1] for a in answers}
            assert statuses <= {202, 503}, statuses
            after = [a for a in answers if a[2] >= ended and a[1] == 202]
            assert after, "no request was accepted after the fault ended"
            recovered = after[0][2] + after[0][3] - ended
            during = [a for a in answers if began <= a[2] < ended]
            longest = max(a[3] for a in answers)
            wait_handled(pipe.record_file, {"rel-idem": set(accepted)}, timeout=180)
            result = tally(
                case,
                "rel-idem",
                accepted,
                [row["id"] for row in records(pipe.record_file, "rel-idem")],
                requests=len(answers),
                refused_503=sum(1 for a in answers if a[1] == 503),
                accepted_during_fault=sum(1 for a in during if a[1] == 202),
                time_to_recover_s=round(recovered, 2),
                longest_response_s=round(longest, 2),
                proxy_connections=proxy.connections,
            )
            assert result.lost == 0
            assert result.duplicated == 0
            assert longest <= PUBLISH_TIMEOUT + 1.0
            assert "ingress bug" not in pipe.logs()
            pipe.assert_secret_never_logged()
        finally:
            if poster is not None:
                poster.stop()
            pipe.close()
