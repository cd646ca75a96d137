"""Push activation end to end on a real broker: a message on ``eventfn.activate`` (the
bridge's format) reaches the autoscaler's callback at once; malformed ones are dropped."""

from __future__ import annotations

import time

import pytest
from kombu import Connection

from broker_bridge.config import Settings
from broker_bridge.connection import connect
from broker_bridge.transport import sqlite
from k8s.autoscaler import ACTIVATE_QUEUE, Activation, ActivationListener, activation_queue
from worker_runtime.testing import wait_until

pytestmark = pytest.mark.integration


def _publish(conn: Connection, body: bytes, content_type: str = "application/json") -> None:
    with conn.Producer() as producer:
        producer.publish(
            body,
            exchange="",
            routing_key=ACTIVATE_QUEUE,
            declare=[activation_queue()],
            content_type=content_type,
            content_encoding="utf-8",
            delivery_mode=2,
        )


def _exercise(url: str) -> None:
    settings = Settings(broker_url=url)
    with connect(settings, url) as conn:  # leftovers of other tests' bridges
        channel = conn.channel()
        activation_queue()(channel).declare()
        channel.queue_purge(ACTIVATE_QUEUE)
    received = []
    with ActivationListener(
        url, lambda fn, at: received.append((fn, at)), settings=settings
    ) as listener:
        wait_until(listener.ready.is_set, timeout=30)
        with connect(settings, url) as conn:
            _publish(conn, b"{not json")
            _publish(conn, b'{"function": "Bad Name", "at": 1}')
            now = time.time()
            _publish(conn, Activation(function="resize-image", at=now).to_json())
            wait_until(lambda: received, timeout=30)
    assert received == [("resize-image", now)]
    assert listener.received == 1


def test_activation_on_the_embedded_broker(tmp_path):
    sqlite.register()
    _exercise(f"sqlite://localhost/{tmp_path / 'state' / 'broker.db'}")


@pytest.mark.rabbitmq
def test_activation_on_rabbitmq(rabbitmq_url):
    _exercise(rabbitmq_url)


@pytest.mark.redis
def test_activation_on_redis(redis_url):
    _exercise(redis_url)


def test_the_queue_is_the_bridges():
    from broker_bridge import topology

    assert ACTIVATE_QUEUE == topology.ACTIVATE_QUEUE == "eventfn.activate"
    queue = activation_queue()
    assert (queue.name, queue.routing_key, queue.durable) == (ACTIVATE_QUEUE, ACTIVATE_QUEUE, True)
    assert queue.exchange.name == ""
