"""The bridge as a real process on every broker: fan-out, filters, policies, dead letters,
SIGKILL mid-stream."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection, Producer

from broker_bridge import topology
from broker_bridge.config import Settings
from broker_bridge.publisher import Publisher
from worker_runtime.testing import EventfnProcess, wait_until

HERE = Path(__file__).parent
FUNCTIONS_FILE = str(HERE / "fanout_functions.py")
ALL = ["fan-exact", "fan-prefix", "fan-sql", "fan-mixed", "direct-only"]

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def start_bridge(tmp_path: Path, url: str, *extra: str, name: str = "bridge") -> EventfnProcess:
    return EventfnProcess(
        ["bridge", "--functions", FUNCTIONS_FILE, *extra],
        log_path=tmp_path / f"{name}.log",
        env={"EVENTFN_BROKER_URL": url},
        ready_line="bridge consuming",
    ).start()


def depth(url: str, queue: str) -> int:
    with Connection(url) as conn:
        channel = conn.channel()
        try:
            return int(channel.queue_declare(queue, passive=True).message_count)
        except Exception:
            return 0


def drain(url: str, queue: str) -> list[Any]:
    out = []
    with Connection(url) as conn:
        bound = topology.queue(queue)(conn.channel())
        bound.declare()
        while True:
            message = bound.get(no_ack=False, accept=None)
            if message is None:
                break
            out.append(message)
            message.ack()
    return out


def event_ids(messages: list[Any]) -> list[str]:
    """The CloudEvent ids carried by Celery task messages."""
    ids = []
    for message in messages:
        args, _kwargs, _embed = json.loads(message.body)
        ids.append(json.loads(args[0])["id"])
    return ids


def publish(url: str, events: list[dict[str, Any]]) -> None:
    with Publisher(url, settings=Settings(broker_url=url)) as publisher:
        publisher.publish_many(events)


def test_fan_out_and_mixed_filters(broker: Any, tmp_path: Path) -> None:
    broker.reset(ALL)
    events = (
        [
            {
                "type": "com.example.fan",
                "source": "/shop",
                "id": f"fan-{i}",
                "subject": f"order/{i}",
            }
            for i in range(60)
        ]
        + [
            {"type": "com.example.fan", "source": "/shop", "id": f"nosub-{i}", "subject": f"x/{i}"}
            for i in range(10)
        ]
        + [{"type": "com.example.other", "source": "/vip", "id": f"vip-{i}"} for i in range(10)]
        + [{"type": "org.acme.thing", "source": "/vip", "id": f"org-{i}"} for i in range(5)]
        + [
            {"type": "net.gold", "source": "/x", "id": f"gold-{i}", "tier": "gold"}
            for i in range(5)
        ]
        + [{"type": "net.none", "source": "/x", "id": f"none-{i}"} for i in range(7)]
    )
    publish(broker.url, events)
    bridge = start_bridge(tmp_path, broker.url)
    try:
        bridge.wait_for_log("no subscription matches", count=12, timeout=120)
        wait_until(lambda: depth(broker.url, "eventfn.fn.fan-mixed") >= 15, timeout=60)
    finally:
        assert bridge.terminate() == 0
    got = {name: Counter(event_ids(drain(broker.url, f"eventfn.fn.{name}"))) for name in ALL}
    fan = {f"fan-{i}" for i in range(60)}
    nosub = {f"nosub-{i}" for i in range(10)}
    vip = {f"vip-{i}" for i in range(10)}
    gold = {f"gold-{i}" for i in range(5)}
    assert set(got["fan-exact"]) == fan | nosub
    assert set(got["fan-prefix"]) == fan | nosub | vip
    assert set(got["fan-sql"]) == fan
    assert set(got["fan-mixed"]) == vip | gold  # org.* from /vip is excluded by `not`
    assert not got["direct-only"]
    for counts in got.values():
        assert all(n == 1 for n in counts.values()), "a routing decision was duplicated"
    assert "no subscription matches" in bridge.log_text()
    assert bridge.log_text().count("no subscription matches") == 12  # org-* (5) + none-* (7)


def test_unmatched_kept_and_undecodable_dead_lettered(broker: Any, tmp_path: Path) -> None:
    broker.reset(ALL)
    with Connection(broker.url) as conn:
        producer = Producer(conn.channel())
        queue = topology.bridge_queue()
        bad = [
            (b'{"specversion": "1.0", "id": "t"', "application/cloudevents+json"),  # truncated
            (b"\x80\x81 not utf-8", "application/cloudevents+json"),
            (b'{"x": 1}', "application/json"),  # binary mode without ce- headers
            (b'[{"id": 1}]', "application/cloudevents-batch+json"),  # no batch on AMQP
            (b"\x80\x03}q\x00.", "application/x-python-serialize"),  # pickle is never read
        ]
        for body, content_type in bad:
            producer.publish(
                body,
                exchange="",
                routing_key=queue.name,
                declare=[queue],
                content_type=content_type,
                content_encoding="binary",
            )
    publish(broker.url, [{"type": "net.none", "source": "/x", "id": "lonely"}])
    publish(broker.url, [{"type": "com.example.fan", "source": "/s", "id": "after-bad"}])
    bridge = start_bridge(tmp_path, broker.url, "--unmatched", "keep")
    try:
        wait_until(lambda: depth(broker.url, "eventfn.fn.fan-exact") >= 1, timeout=60)
        wait_until(lambda: depth(broker.url, topology.BRIDGE_DLQ) >= len(bad), timeout=60)
        wait_until(lambda: depth(broker.url, topology.BRIDGE_UNROUTED) >= 1, timeout=60)
    finally:
        assert bridge.terminate() == 0
    dead = drain(broker.url, topology.BRIDGE_DLQ)
    assert len(dead) == len(bad)
    for message, (body, _ct) in zip(dead, bad, strict=True):
        assert bytes(message.body) == body, "the dead letter must carry the input unchanged"
        assert message.headers["eventfnerror"]
        assert message.headers["eventfnerrortype"]
    kept = drain(broker.url, topology.BRIDGE_UNROUTED)
    assert [json.loads(m.body)["id"] for m in kept] == ["lonely"]
    assert event_ids(drain(broker.url, "eventfn.fn.fan-exact")) == ["after-bad"]


def test_sigkill_mid_stream_loses_nothing(broker: Any, tmp_path: Path) -> None:
    broker.reset(ALL)
    total = 2000
    publish(
        broker.url,
        [{"type": "com.example.fan", "source": "/k", "id": f"k-{i}"} for i in range(total)],
    )
    first = start_bridge(tmp_path, broker.url, name="bridge1")
    wait_until(lambda: depth(broker.url, "eventfn.fn.fan-exact") >= 300, timeout=120)
    first.kill()
    second = start_bridge(tmp_path, broker.url, name="bridge2")
    try:
        wait_until(lambda: depth(broker.url, topology.BRIDGE_QUEUE) == 0, timeout=300)
        wait_until(lambda: depth(broker.url, "eventfn.fn.fan-exact") >= total, timeout=300)
    finally:
        assert second.terminate() == 0
    ids = Counter(event_ids(drain(broker.url, "eventfn.fn.fan-exact")))
    assert set(ids) == {f"k-{i}" for i in range(total)}, "events were lost"
    duplicates = sum(n - 1 for n in ids.values())
    assert duplicates <= 256, "only the killed bridge's unacked batch may be routed twice"
