"""Routing semantics, the same on the three brokers.

On RabbitMQ exact-type subscriptions are bindings of the events exchange (the broker
copies the event) and the bridge serves the rest; on Redis and the embedded broker the
bridge routes everything. Either way each event must reach each function whose
subscription matches, exactly once; the reference is the Python evaluator
(``RoutingTable.route``, itself tested against the Subscriptions API and CESQL TCK).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from kombu import Connection, Exchange, Producer

from broker_bridge import topology
from broker_bridge.bindings.amqp import from_amqp, to_binary
from broker_bridge.bridge import Bridge
from broker_bridge.bridge.settings import BridgeSettings
from broker_bridge.config import Settings
from broker_bridge.event import new_event
from broker_bridge.publisher import Publisher
from broker_bridge.routing import RoutingTable
from broker_bridge.subscriptions import Subscription, SubscriptionTable
from worker_runtime.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

T = "com.example.order.created"


def _table(suffix: str, rows: list[tuple[str, list[dict[str, Any]]]]) -> RoutingTable:
    subs = [
        Subscription(name=f"s{i}", function=f"{fn}-{suffix}", filters=filters)
        for i, (fn, filters) in enumerate(rows)
    ]
    return RoutingTable.from_subscriptions(SubscriptionTable(subscriptions=subs))


def _drain(url: str, queue_name: str) -> list[Any]:
    out = []
    with Connection(url) as conn:
        queue = topology.queue(queue_name)(conn.default_channel)
        queue.declare()
        while (message := queue.get(no_ack=False, accept=None)) is not None:
            out.append(message)
            message.ack()
    return out


def _ids(messages: list[Any]) -> Counter[str]:
    found: Counter[str] = Counter()
    for m in messages:
        body = m.body if isinstance(m.body, bytes) else m.body.encode()
        found[from_amqp(body, m.headers, m.content_type).get_id()] += 1
    return found


class _Running:
    def __init__(self, url: str, table: RoutingTable) -> None:
        self.table = table
        self.bridge = Bridge(
            Settings(broker_url=url),
            lambda: self.table,
            bridge_settings=BridgeSettings(),
        )
        self.thread = threading.Thread(target=self.bridge.run, daemon=True)

    def __enter__(self) -> _Running:
        self.thread.start()
        time.sleep(1.0)  # bindings declared, first switch marker consumed
        return self

    def __exit__(self, *_: Any) -> None:
        self.bridge.stop()
        self.thread.join(30)


@pytest.fixture
def suffix() -> str:
    return uuid.uuid4().hex[:6]


ROWS: list[tuple[str, list[dict[str, Any]]]] = [
    ("exact", [{"exact": {"type": T}}]),
    ("any", [{"any": [{"exact": {"type": T}}, {"exact": {"type": "com.example.other"}}]}]),
    ("prefix", [{"prefix": {"type": "com.example.order."}}]),
    ("suffix", [{"suffix": {"type": ".created"}}]),
    ("sql", [{"sql": f"type = '{T}' AND subject = 'vip'"}]),
    ("not", [{"not": {"exact": {"type": T}}}]),
    ("all", [{"exact": {"type": T}}, {"exact": {"source": "/a"}}]),
    # one function, an exact and a CESQL subscription on the same type: once, not twice
    ("both", [{"exact": {"type": T}}]),
    ("both", [{"sql": "subject = 'vip'"}]),
]

EVENTS = [
    {"type": T, "source": "/a", "subject": "vip"},
    {"type": T, "source": "/b", "subject": "plain"},
    {"type": "com.example.other", "source": "/a"},
    {"type": "com.example.order.shipped", "source": "/a", "subject": "vip"},
    {"type": "org.unrelated.created", "source": "/c"},
]


def _functions(suffix: str) -> list[str]:
    return sorted({f"{fn}-{suffix}" for fn, _ in ROWS})


def _expect(table: RoutingTable, events: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    expected: dict[str, Counter[str]] = {}
    for attrs in events:
        full = {"specversion": "1.0", **attrs}
        for fn in table.route(full):
            expected.setdefault(fn, Counter())[attrs["id"]] += 1
    return expected


@pytest.fixture
def setup(broker: Any, suffix: str) -> Iterator[tuple[Any, RoutingTable, list[str]]]:
    functions = _functions(suffix)
    broker.reset(functions)
    table = _table(suffix, ROWS)
    yield broker, table, functions
    broker.reset(functions)


def _check(
    url: str, table: RoutingTable, functions: list[str], events: list[dict[str, Any]]
) -> None:
    expected = _expect(table, events)
    total = sum(sum(c.values()) for c in expected.values())
    got: dict[str, Counter[str]] = {fn: Counter() for fn in functions}

    def arrived() -> bool:
        for fn in functions:
            got[fn] += _ids(_drain(url, topology.function_queue_name(fn)))
        return sum(sum(c.values()) for c in got.values()) >= total

    wait_until(arrived, timeout=60, message="every routed copy")
    time.sleep(0.5)
    arrived()  # nothing extra arrives late
    assert {fn: c for fn, c in got.items() if c} == expected


def test_every_dialect_and_mixed_paths_reach_each_function_once(setup: Any) -> None:
    broker, table, functions = setup
    events = [{**e, "id": f"e{i}"} for i, e in enumerate(EVENTS)]
    with _Running(broker.url, table):
        with Publisher(broker.url, settings=Settings(broker_url=broker.url)) as publisher:
            publisher.publish_many(events)
        _check(broker.url, table, functions, events)


def test_foreign_producer_with_and_without_the_type_as_routing_key(setup: Any) -> None:
    broker, table, functions = setup
    events = [{**e, "id": f"k{i}"} for i, e in enumerate(EVENTS)]
    events += [{**e, "id": f"n{i}"} for i, e in enumerate(EVENTS)]
    with _Running(broker.url, table), Connection(broker.url) as conn:
        producer = Producer(conn.default_channel)
        for attrs in events:
            msg = to_binary(new_event(attrs, {"x": 1}))
            if topology.native_routing(broker.url):
                key = attrs["type"] if attrs["id"].startswith("k") else "not-the-type"
                exchange: Exchange | str = topology.EVENTS_EXCHANGE
                declare = [topology.bridge_queue(True)]
            else:
                key, exchange, declare = topology.BRIDGE_QUEUE, "", [topology.bridge_queue()]
            producer.publish(
                msg.body,
                exchange=exchange,
                routing_key=key,
                headers=dict(msg.headers),
                content_type=msg.content_type or "application/json",
                declare=declare,
                delivery_mode=2,
            )
        # published with another key, no function binding matched: the bridge (through
        # its "#" pattern or the alternate exchange) routed those events fully
        _check(broker.url, table, functions, events)


def test_a_bare_consumer_reads_a_standard_cloudevent(setup: Any, suffix: str) -> None:
    broker, table, _ = setup
    with _Running(broker.url, table):
        with Publisher(broker.url, settings=Settings(broker_url=broker.url)) as publisher:
            publisher.publish({"type": T, "source": "/bare", "id": "bare-1", "data": {"n": 1}})
        queue = topology.function_queue_name(f"exact-{suffix}")
        found: list[Any] = []
        wait_until(lambda: found.extend(_drain(broker.url, queue)) or found, timeout=30)
    (message,) = found
    assert "task" not in (message.headers or {})
    body = message.body if isinstance(message.body, bytes) else message.body.encode()
    event = from_amqp(body, message.headers, message.content_type)
    assert (event.get_id(), event.get_type(), event.get_data()) == ("bare-1", T, {"n": 1})
