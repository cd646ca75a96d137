"""The acks_late stall stays fixed: a solo-pool worker on RabbitMQ never pauses for
a heartbeat interval between two handler calls (celery/celery#7718)."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from wr_support import event_json, isolated, records, send, worker

from worker_runtime.hub import HubWakeup
from worker_runtime.testing import wait_until

EVENTS = 300


class FakeHub:
    def __init__(self) -> None:
        self.repeating: list[tuple[float, Any]] = []

    def call_repeatedly(self, delay: float, callback: Any) -> Any:
        self.repeating.append((delay, callback))
        return SimpleNamespace(cancel=self.repeating.clear)


def test_the_bootstep_installs_a_repeating_timer_on_the_hub() -> None:
    hub = FakeHub()
    app = SimpleNamespace(conf={"eventfn_hub_wakeup_interval": 0.005})
    w = SimpleNamespace(app=app, hub=hub, use_eventloop=True)
    step = HubWakeup(w)
    assert step.include_if(w)
    step.start(w)
    assert [delay for delay, _ in hub.repeating] == [0.005]
    step.stop(w)
    assert hub.repeating == []
    off = SimpleNamespace(app=SimpleNamespace(conf={"eventfn_hub_wakeup_interval": 0}), hub=hub)
    assert not HubWakeup(off).include_if(SimpleNamespace(use_eventloop=True))


@pytest.mark.integration
@pytest.mark.rabbitmq
@pytest.mark.timeout(300)
def test_solo_worker_never_stalls_between_messages(rabbitmq_url: str, tmp_path: Path) -> None:
    broker = isolated(SimpleNamespace(kind="rabbitmq", url=rabbitmq_url))
    from kombu import Connection

    with Connection(broker.url) as conn:  # a fresh queue: nothing left by other tests
        channel = conn.channel()
        channel.queue_delete("eventfn.fn.noop")
    record_file = tmp_path / "records.jsonl"
    send(broker.url, "noop", [event_json(f"n{i}") for i in range(EVENTS)])
    with worker(tmp_path, broker.url, "noop", "--pool", "solo", "-c", "1"):
        wait_until(lambda: len(records(record_file, "noop")) >= EVENTS, timeout=240)
    times = sorted(r["t"] for r in records(record_file, "noop"))
    longest = max(b - a for a, b in pairwise(times))
    # without the wake-up, pauses of ~2 s (a heartbeat tick) recur every few messages
    assert longest < 1.0, f"the worker stalled for {longest:.2f}s between two messages"
