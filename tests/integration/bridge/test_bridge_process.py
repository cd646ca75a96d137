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


def start_bridge(
    tmp_path: Path, url: str, *extra: str, name: str = "bridge", env: dict[str, str] | None = None
) -> EventfnProcess:
    return EventfnProcess(
        ["bridge", "--functions", FUNCTIONS_FILE, *extra],
        log_path=tmp_path / f"{name}.log",
        env={"EVENTFN_BROKER_URL": url, **(env or {})},
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
    # Redis and the embedded broker give a dead consumer's unacked messages back after
    # the visibility timeout (RabbitMQ at once, when the connection drops): keep it short
    # here so the survivor sees them within the test.
    short = {"EVENTFN_EMBEDDED_VISIBILITY_TIMEOUT": "3"}
    first = start_bridge(tmp_path, broker.url, name="bridge1", env=short)
    wait_until(lambda: depth(broker.url, "eventfn.fn.fan-exact") >= 300, timeout=120)
    first.kill()
    second = start_bridge(tmp_path, broker.url, name="bridge2", env=short)
    expected = {f"k-{i}" for i in range(total)}
    # Collect what the bridges routed while the survivor runs. Neither the input queue's
    # depth (ready messages only: the survivor's unacked batch is not counted) nor the
    # output's depth (the killed bridge's batch may be routed twice) says "all routed".
    ids: Counter[str] = Counter()

    def collect() -> bool:
        ids.update(event_ids(drain(broker.url, "eventfn.fn.fan-exact")))
        return set(ids) >= expected

    try:
        wait_until(collect, timeout=300, interval=0.5)
    finally:
        assert second.terminate() == 0
    ids.update(event_ids(drain(broker.url, "eventfn.fn.fan-exact")))
    assert set(ids) == expected, "events were lost"
    duplicates = sum(n - 1 for n in ids.values())
    assert duplicates <= 256, "only the killed bridge's unacked batch may be routed twice"


def _table(path: Path, function: str, event_type: str) -> None:
    path.write_text(
        "subscriptions:\n"
        f"  - name: {function}-sub\n"
        f"    function: {function}\n"
        f"    filters: [{{exact: {{type: {event_type}}}}}]\n"
    )


@pytest.mark.parametrize("trigger", ["file-change", "sighup"])
def test_table_reload_loses_and_doubles_nothing(broker: Any, tmp_path: Path, trigger: str) -> None:
    """Events published before, during and after a reload are each routed exactly once,
    by the table in force when their batch was decided."""
    import os
    import signal

    broker.reset(ALL)
    table = tmp_path / "subscriptions.yaml"
    _table(table, "fan-exact", "com.example.reload")
    bridge = start_bridge(tmp_path, broker.url, "--subscriptions", str(table))
    try:
        before = [
            {"type": "com.example.reload", "source": "/r", "id": f"a-{i}"} for i in range(300)
        ]
        publish(broker.url, before)
        wait_until(lambda: depth(broker.url, "eventfn.fn.fan-exact") >= 300, timeout=120)
        # the new table sends the same type to another function
        _table(table, "fan-prefix", "com.example.reload")
        if trigger == "sighup":
            os.kill(bridge.pid, signal.SIGHUP)
        bridge.wait_for_log("subscription table reloaded", timeout=60)
        after = [{"type": "com.example.reload", "source": "/r", "id": f"b-{i}"} for i in range(300)]
        publish(broker.url, after)
        wait_until(lambda: depth(broker.url, "eventfn.fn.fan-prefix") >= 300, timeout=120)
        wait_until(lambda: depth(broker.url, topology.BRIDGE_QUEUE) == 0, timeout=120)
    finally:
        assert bridge.terminate() == 0
    old = Counter(event_ids(drain(broker.url, "eventfn.fn.fan-exact")))
    new = Counter(event_ids(drain(broker.url, "eventfn.fn.fan-prefix")))
    assert old == Counter(e["id"] for e in before), "old table: every event once, no others"
    assert new == Counter(e["id"] for e in after), "new table: every event once, no others"


def test_bad_table_on_reload_keeps_the_old_one(broker: Any, tmp_path: Path) -> None:
    broker.reset(ALL)
    table = tmp_path / "subscriptions.yaml"
    _table(table, "fan-exact", "com.example.reload")
    bridge = start_bridge(tmp_path, broker.url, "--subscriptions", str(table))
    try:
        table.write_text("subscriptions:\n  - function: nope\n    filters: [{regex: {}}]\n")
        bridge.wait_for_log("reload failed", timeout=60)
        publish(broker.url, [{"type": "com.example.reload", "source": "/r", "id": "still"}])
        wait_until(lambda: depth(broker.url, "eventfn.fn.fan-exact") >= 1, timeout=60)
    finally:
        assert bridge.terminate() == 0
    assert event_ids(drain(broker.url, "eventfn.fn.fan-exact")) == ["still"]


def test_reply_loops_are_cut_by_the_hop_limit(broker: Any, tmp_path: Path) -> None:
    broker.reset(ALL)
    looping = {"type": "com.example.fan", "source": "/loop", "id": "loop-1", "eventfnhops": 5}
    fine = {"type": "com.example.fan", "source": "/loop", "id": "loop-2", "eventfnhops": 4}
    publish(broker.url, [looping, fine])
    bridge = start_bridge(tmp_path, broker.url, env={"EVENTFN_BRIDGE_MAX_HOPS": "4"})
    try:
        wait_until(lambda: depth(broker.url, topology.BRIDGE_DLQ) >= 1, timeout=60)
        wait_until(lambda: depth(broker.url, "eventfn.fn.fan-exact") >= 1, timeout=60)
    finally:
        assert bridge.terminate() == 0
    dead = drain(broker.url, topology.BRIDGE_DLQ)
    assert [json.loads(m.body)["id"] for m in dead] == ["loop-1"]
    assert dead[0].headers["eventfnerrortype"] == "HopLimitExceeded"
    assert event_ids(drain(broker.url, "eventfn.fn.fan-exact")) == ["loop-2"]


def test_two_bridges_share_the_input_and_route_each_event_once(broker: Any, tmp_path: Path) -> None:
    broker.reset(ALL)
    total = 1000
    first = start_bridge(tmp_path, broker.url, "--prefetch", "16", name="b1")
    second = start_bridge(tmp_path, broker.url, "--prefetch", "16", name="b2")
    try:
        publish(
            broker.url,
            [{"type": "com.example.fan", "source": "/two", "id": f"t-{i}"} for i in range(total)],
        )
        wait_until(lambda: depth(broker.url, "eventfn.fn.fan-exact") >= total, timeout=300)
        wait_until(lambda: depth(broker.url, topology.BRIDGE_QUEUE) == 0, timeout=120)
    finally:
        assert first.terminate() == 0
        assert second.terminate() == 0
    ids = Counter(event_ids(drain(broker.url, "eventfn.fn.fan-exact")))
    assert ids == Counter(f"t-{i}" for i in range(total))
    routed = [
        json.loads(line)
        for name in ("b1", "b2")
        for line in (tmp_path / f"{name}.log").read_text().splitlines()
        if '"bridge stopped"' in line
    ]
    assert len(routed) == 2
    assert sum(r["routed"] for r in routed) == total
    assert all(r["routed"] > 0 for r in routed), "both bridges should have taken a share"
