"""The publisher SDK (sync and asyncio) against real brokers, broker restarts included."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from typing import Any

import pytest
from kombu import Connection
from support.rabbitmq_node import RabbitMQNode

from broker_bridge import topology
from broker_bridge.aio import AsyncPublisher
from broker_bridge.bindings.amqp import from_amqp
from broker_bridge.config import Settings
from broker_bridge.errors import BrokerUnavailable, PublishError
from broker_bridge.event import JSON_NULL, new_event, same_event
from broker_bridge.formats.json import from_json
from broker_bridge.invalid import InvalidEventError
from broker_bridge.publisher import Publisher
from broker_bridge.publisher_pool import PublishRetriesExhausted, RetryPolicy

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def _consume(url: str, queue: str) -> list[Any]:
    with Connection(url) as conn:
        bound = topology.queue(queue)(conn.channel())
        bound.declare()
        messages = []
        while (message := bound.get(no_ack=True)) is not None:
            messages.append(message)
        return messages


def _events_in(url: str) -> list[Any]:
    decoded = []
    for m in _consume(url, topology.BRIDGE_QUEUE):
        body = m.body if isinstance(m.body, bytes) else m.body.encode()
        decoded.append(from_amqp(body, m.headers, m.content_type))
    return decoded


def _event(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "com.example.pub",
        "source": "/tests/publisher",
        "id": f"p-{i}",
        "data": {"i": i},
        **extra,
    }


def _purge(url: str) -> None:
    with Connection(url) as conn:
        topology.bridge_queue()(conn.channel()).declare()
        conn.channel().queue_purge(topology.BRIDGE_QUEUE)


@pytest.mark.parametrize("mode", ["structured", "binary"])
def test_publish_and_publish_many_deliver_events_intact(embedded_url: str, mode: str) -> None:
    settings = Settings(broker_url=embedded_url)
    special = new_event(
        {"type": "com.example.pub", "source": "/s", "id": "bytes", "flag": True, "n": 7},
        b"\x00\xff",
    )
    null = new_event({"type": "com.example.pub", "source": "/s", "id": "null"}, JSON_NULL)
    with Publisher(embedded_url, settings=settings, mode=mode) as publisher:
        one = publisher.publish(_event(0))
        many = publisher.publish_many([_event(i) for i in range(1, 300)] + [special, null])
    assert one.get_id() == "p-0"
    assert len(many) == 301
    received = {ce.get_id(): ce for ce in _events_in(embedded_url)}
    assert len(received) == 302
    for sent in [one, *many]:
        assert same_event(received[sent.get_id()], sent), sent.get_id()


def test_a_mapping_gets_an_id_and_an_invalid_event_stops_the_whole_batch(embedded_url: str) -> None:
    with Publisher(embedded_url, settings=Settings(broker_url=embedded_url)) as publisher:
        (generated,) = publisher.publish_many([{"type": "t", "source": "/s"}])
        assert uuid.UUID(generated.get_id())
        with pytest.raises(InvalidEventError) as caught:
            publisher.publish_many([_event(1), {"type": "t"}, _event(2, time="never")])
    assert set(caught.value.problems) == {"[1].source", "[2].time"}
    assert [ce.get_id() for ce in _events_in(embedded_url)] == [generated.get_id()]


def test_publish_to_function_puts_a_task_message_on_its_queue(broker: Any) -> None:
    function = f"pub-{uuid.uuid4().hex[:8]}"
    queue = topology.function_queue_name(function)
    broker.reset([function])
    try:
        with Publisher(broker.url, settings=Settings(broker_url=broker.url)) as publisher:
            sent = publisher.publish_to_function(function, _event(1))
        (message,) = _consume(broker.url, queue)
        assert message.headers["task"] == topology.task_name(function)
        body = message.body if isinstance(message.body, bytes) else message.body.encode()
        (event_json,) = json.loads(body)[0]
        assert same_event(from_json(event_json.encode()), sent)
    finally:
        broker.reset([function])


def test_the_asyncio_publisher_shares_the_sync_path(embedded_url: str) -> None:
    async def main() -> list[Any]:
        async with AsyncPublisher(embedded_url, settings=Settings(broker_url=embedded_url)) as pub:
            assert await pub.ready()
            first = await pub.publish(_event(0))
            rest = await asyncio.gather(*(pub.publish_many([_event(i)]) for i in range(1, 20)))
            return [first, *(batch[0] for batch in rest)]

    sent = asyncio.run(main())
    assert {ce.get_id() for ce in _events_in(embedded_url)} == {ce.get_id() for ce in sent}


def test_threads_share_one_publisher(private_rabbitmq: RabbitMQNode) -> None:
    url = private_rabbitmq.url
    _purge(url)
    errors: list[BaseException] = []
    with Publisher(url, settings=Settings(broker_url=url), pool_size=2) as publisher:

        def work(n: int) -> None:
            try:
                publisher.publish_many([_event(n * 1000 + i) for i in range(200)])
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors
    assert len({ce.get_id() for ce in _events_in(url)}) == 1200


def test_publish_rides_out_a_broker_restart(private_rabbitmq: RabbitMQNode) -> None:
    url = private_rabbitmq.url
    _purge(url)
    retry = RetryPolicy(max_attempts=200, interval_start=0.1, interval_max=0.5)
    with Publisher(url, settings=Settings(broker_url=url), retry=retry) as publisher:
        publisher.publish_many([_event(i) for i in range(500)])
        private_rabbitmq.stop()
        restarted = threading.Thread(target=private_rabbitmq.start)
        restarted.start()
        try:
            # the pooled connection is dead: reconnect and re-publish once it is back
            sent = publisher.publish_many([_event(i) for i in range(500, 1000)])
        finally:
            restarted.join()
    assert len(sent) == 500
    ids = {ce.get_id() for ce in _events_in(url)}
    assert ids == {f"p-{i}" for i in range(1000)}, "persistent events survive the restart"


def test_publish_raises_after_the_bound_when_the_broker_stays_down(
    private_rabbitmq: RabbitMQNode,
) -> None:
    url = private_rabbitmq.url
    retry = RetryPolicy(max_attempts=3, interval_start=0.05, interval_max=0.1)
    with Publisher(url, settings=Settings(broker_url=url), retry=retry) as publisher:
        publisher.publish(_event(0))
        private_rabbitmq.stop()
        try:
            with pytest.raises(PublishRetriesExhausted) as caught:
                publisher.publish_many([_event(i) for i in range(1, 11)])
            assert isinstance(caught.value, PublishError)
            assert caught.value.unconfirmed == 10
            assert caught.value.attempts == 3
            assert "10 of 10 message(s) not confirmed" in str(caught.value)
            with pytest.raises(BrokerUnavailable):
                Publisher(url, settings=Settings(broker_url=url)).connect()
        finally:
            private_rabbitmq.start()
