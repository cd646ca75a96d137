"""The crash-safe Redis fetch (broker_bridge.transport.redis) against a real Redis.

A consumer killed after the server moved a message into its in-flight list, but
before it wrote the ``unacked`` entry, is simulated by doing that move by hand with
no lease; a live one by doing it with a lease.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from kombu import Consumer, Producer, Queue

from broker_bridge.config import Settings
from broker_bridge.connection import connect
from broker_bridge.transport.redis import INFLIGHT_REGISTRY, Channel

pytestmark = pytest.mark.integration


@pytest.fixture
def names(redis_url: str) -> Iterator[tuple[str, str]]:
    """A queue of this test's own and the key of a dead consumer's in-flight list."""
    queue = f"eventfn.test.fetch-{uuid.uuid4().hex[:8]}"
    token = uuid.uuid4().hex
    yield queue, token
    client = redis.Redis.from_url(redis_url)
    client.delete(queue, f"eventfn.inflight:{token}:{queue}", f"eventfn.inflight-lease:{token}")
    client.srem(INFLIGHT_REGISTRY, f"eventfn.inflight:{token}:{queue}")
    client.close()


def _publish(url: str, queue: str, bodies: list[dict[str, Any]]) -> None:
    with connect(Settings(broker_url=url), url) as conn:
        producer = Producer(conn.channel(), routing_key=queue, serializer="json")
        Queue(queue, exchange="", routing_key=queue)(producer.channel).declare()
        for body in bodies:
            producer.publish(body, routing_key=queue, retry=True)


def _consume(url: str, queues: list[str], expected: int) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    with connect(Settings(broker_url=url), url) as conn:
        channel = conn.channel()

        def on_message(body: Any, message: Any) -> None:
            received.append(body)
            message.ack()

        with Consumer(
            channel,
            queues=[Queue(q, exchange="", routing_key=q) for q in queues],
            callbacks=[on_message],
            accept=["json"],
        ):
            for _ in range(200):
                if len(received) >= expected:
                    break
                with contextlib.suppress(TimeoutError):
                    conn.drain_events(timeout=0.2)
    return received


def _strand(url: str, queue: str, token: str, *, leased: bool) -> str:
    """Do what a consumer's fetch does on the server, then 'die' before staging."""
    client = redis.Redis.from_url(url)
    inflight = f"eventfn.inflight:{token}:{queue}"
    assert client.lmove(queue, inflight, "RIGHT", "LEFT") is not None
    client.sadd(INFLIGHT_REGISTRY, inflight)
    if leased:
        client.set(f"eventfn.inflight-lease:{token}", 1, ex=60)
    client.close()
    return inflight


def test_a_dead_consumers_in_flight_message_is_delivered_to_the_next(
    redis_url: str, names: tuple[str, str]
) -> None:
    queue, token = names
    _publish(redis_url, queue, [{"n": 1}, {"n": 2}])
    inflight = _strand(redis_url, queue, token, leased=False)

    received = _consume(redis_url, [queue], expected=2)

    assert sorted(body["n"] for body in received) == [1, 2]
    client = redis.Redis.from_url(redis_url)
    assert client.llen(inflight) == 0
    assert not client.sismember(INFLIGHT_REGISTRY, inflight)
    assert client.hlen("unacked") == 0, "acked messages leave nothing behind"
    client.close()


def test_a_live_consumers_in_flight_message_is_left_alone(
    redis_url: str, names: tuple[str, str]
) -> None:
    queue, token = names
    _publish(redis_url, queue, [{"n": 1}])
    inflight = _strand(redis_url, queue, token, leased=True)
    client = redis.Redis.from_url(redis_url)
    with connect(Settings(broker_url=redis_url), redis_url) as conn:
        channel = conn.channel()
        assert isinstance(channel, Channel)
        assert channel.restore_orphans() == 0
        assert client.llen(inflight) == 1
        client.delete(f"eventfn.inflight-lease:{token}")  # the lease runs out
        assert channel.restore_orphans() == 1
    assert client.llen(inflight) == 0
    assert client.llen(queue) == 1
    client.close()


def test_fetched_messages_are_in_unacked_until_acked(
    redis_url: str, names: tuple[str, str]
) -> None:
    """Between fetch and ack a message lives in kombu's ``unacked`` hash, so kombu's own
    visibility-timeout restore still covers a consumer that dies while handling it."""
    queue, _ = names
    _publish(redis_url, queue, [{"n": 7}])
    client = redis.Redis.from_url(redis_url)
    seen: list[Any] = []
    with (
        connect(Settings(broker_url=redis_url), redis_url) as conn,
        Consumer(
            conn.channel(),
            queues=[Queue(queue, exchange="", routing_key=queue)],
            callbacks=[lambda body, message: seen.append(message)],
            accept=["json"],
        ),
    ):
        for _ in range(100):
            if seen:
                break
            with contextlib.suppress(TimeoutError):
                conn.drain_events(timeout=0.2)
        assert seen, "the message was not delivered"
        tag = seen[0].delivery_tag
        assert client.hexists("unacked", tag)
        assert client.llen(queue) == 0
        seen[0].ack()
        assert not client.hexists("unacked", tag)
    client.close()


def test_several_queues_fall_back_to_kombus_fetch(redis_url: str, names: tuple[str, str]) -> None:
    queue, _ = names
    other = f"{queue}-b"
    try:
        _publish(redis_url, queue, [{"n": 1}])
        _publish(redis_url, other, [{"n": 2}])
        received = _consume(redis_url, [queue, other], expected=2)
    finally:
        redis.Redis.from_url(redis_url).delete(other)
    assert sorted(body["n"] for body in received) == [1, 2]
