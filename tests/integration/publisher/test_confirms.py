"""Pipelined publisher confirms (``broker_bridge.confirms``) against real brokers."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest
from kombu import Connection, Queue

from broker_bridge.config import Settings
from broker_bridge.confirms import (
    ConfirmConnectionLost,
    ConfirmingPublisher,
    PublishNacked,
    PublishUnroutable,
    UnconfirmedPublish,
    confirming_connection,
    without_per_message_confirms,
)
from broker_bridge.connection import connect
from broker_bridge.errors import ConfigurationError, PublishError

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def _queue(name: str, **arguments: object) -> Queue:
    return Queue(
        name, exchange="", routing_key=name, durable=True, queue_arguments=arguments or None
    )


@pytest.fixture
def queue_name() -> str:
    return f"eventfn.test.confirms.{uuid.uuid4().hex[:8]}"


@pytest.fixture
def rabbit(rabbitmq_url: str) -> Iterator[Connection]:
    conn = confirming_connection(Settings(broker_url=rabbitmq_url))
    yield conn
    conn.release()


def _drain(conn: Connection, queue: Queue) -> list[object]:
    messages = []
    bound = queue(conn.channel())
    while (message := bound.get(no_ack=True)) is not None:
        messages.append(message)
    return messages


def _delete(url: str, *names: str) -> None:
    with Connection(url) as conn:
        for name in names:
            channel = conn.channel()
            with contextlib.suppress(Exception):
                channel.queue_delete(name)


def test_publish_many_then_wait_delivers_every_message_intact(broker, queue_name) -> None:
    conn = confirming_connection(Settings(broker_url=broker.url))
    queue = _queue(queue_name)
    try:
        with ConfirmingPublisher(conn) as out:
            positions = [
                out.publish(
                    f"body-{i}".encode(),
                    queue_name,
                    headers={"ce-id": f"e{i}", "n": i},
                    content_type="text/plain",
                    content_encoding="utf-8",
                    properties={"correlation_id": f"c{i}"},
                    declare=queue,
                )
                for i in range(300)
            ]
            assert positions == list(range(300))
            assert out.wait() == 300
            assert out.pending == 0
            assert out.published == 0
        received = _drain(conn, queue)
        bodies = [m.body if isinstance(m.body, bytes) else m.body.encode() for m in received]
        assert bodies == [f"body-{i}".encode() for i in range(300)]
        first = received[0]
        assert first.headers["ce-id"] == "e0"
        assert first.headers["n"] == 0
        assert first.content_type == "text/plain"
        assert first.properties["correlation_id"] == "c0"
        assert first.delivery_info["routing_key"] == queue_name or broker.kind != "rabbitmq"
        if broker.kind == "rabbitmq":
            assert first.properties["delivery_mode"] == 2
    finally:
        if broker.kind == "rabbitmq":
            _delete(broker.url, queue_name)
        conn.release()


def test_rabbitmq_confirms_are_native_and_window_bounds_outstanding(
    rabbit, rabbitmq_url, queue_name
) -> None:
    queue = _queue(queue_name)
    try:
        with ConfirmingPublisher(rabbit, window=16) as out:
            assert out.native_confirms
            peak = 0
            for i in range(2000):
                out.publish(str(i).encode(), queue_name, declare=queue)
                peak = max(peak, out.pending)
            assert peak <= 16
            assert out.wait() == 2000
        assert len(_drain(rabbit, queue)) == 2000
    finally:
        _delete(rabbitmq_url, queue_name)


def test_unroutable_messages_are_reported_by_position(rabbit, rabbitmq_url, queue_name) -> None:
    queue = _queue(queue_name)
    missing = f"{queue_name}.missing"
    try:
        with ConfirmingPublisher(rabbit) as out:
            out.declare(queue)
            for i in range(6):
                out.publish(b"x", missing if i % 2 else queue_name)
            with pytest.raises(PublishUnroutable) as caught:
                out.wait()
            error = caught.value
            assert isinstance(error, LookupError)
            assert isinstance(error, PublishError)
            assert sorted(error.failed) == [1, 3, 5]
            assert error.unconfirmed == 3
            assert error.total == 6
            assert missing in str(error)
            # the next batch starts clean on the same channel
            out.publish(b"y", queue_name)
            assert out.wait() == 1
        assert len(_drain(rabbit, queue)) == 4
    finally:
        _delete(rabbitmq_url, queue_name)


def test_nacked_messages_are_reported_by_position(rabbit, rabbitmq_url, queue_name) -> None:
    # a queue that refuses publishes beyond two messages: RabbitMQ nacks the rest
    queue = _queue(queue_name, **{"x-max-length": 2, "x-overflow": "reject-publish"})
    try:
        with ConfirmingPublisher(rabbit) as out:
            for i in range(5):
                out.publish(str(i).encode(), queue_name, declare=queue)
            with pytest.raises(PublishNacked) as caught:
                out.wait()
            assert sorted(caught.value.failed) == [2, 3, 4]
            assert "3 of 5 message(s) unconfirmed" in str(caught.value)
    finally:
        _delete(rabbitmq_url, queue_name)


def test_connection_loss_fails_the_unconfirmed_then_reconnects(
    rabbit, rabbitmq_url, queue_name
) -> None:
    queue = _queue(queue_name)
    try:
        with ConfirmingPublisher(rabbit) as out:
            for i in range(50):
                out.publish(str(i).encode(), queue_name, declare=queue)
            rabbit.connection.sock.close()  # the socket dies under the publisher

            def publish_more_and_wait() -> None:
                for i in range(50, 60):
                    out.publish(str(i).encode(), queue_name, declare=queue)
                out.wait()

            with pytest.raises(UnconfirmedPublish) as caught:
                publish_more_and_wait()
            error = caught.value
            assert isinstance(error, ConfirmConnectionLost)
            assert isinstance(error, ConnectionError)
            assert error.failed, "what was not confirmed is named"
            # the next publish opens a new connection and channel
            out.publish(b"again", queue_name, declare=queue)
            assert out.wait() == 1
    finally:
        _delete(rabbitmq_url, queue_name)


def test_a_per_message_confirm_connection_is_refused(rabbitmq_url) -> None:
    settings = Settings(broker_url=rabbitmq_url)
    per_message = connect(settings)
    with pytest.raises(ConfigurationError, match="confirm_publish"):
        ConfirmingPublisher(per_message)
    clone = without_per_message_confirms(per_message)
    assert not clone.transport_options.get("confirm_publish")
    ConfirmingPublisher(clone).close()
    per_message.release()
    clone.release()
