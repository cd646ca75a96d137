"""Metrics sources against real brokers (RabbitMQ over AMQP, Redis, the embedded SQLite
broker) and the RabbitMQ management API's documented JSON served by an in-test HTTP
server: ready and unacknowledged counts, and what each source cannot see."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from kombu import Connection, Queue

from broker_bridge.config import Settings
from broker_bridge.connection import connect
from broker_bridge.transport import sqlite
from k8s.errors import MetricsUnavailable
from k8s.metrics import (
    AmqpQueueStats,
    EmbeddedQueueStats,
    ManagementQueueStats,
    RedisQueueStats,
    open_metrics_source,
)

pytestmark = pytest.mark.integration


def _queue(name: str) -> Queue:
    return Queue(name, exchange="", routing_key=name, durable=True)


def _publish(conn: Connection, queue: str, count: int, **properties) -> None:
    with conn.Producer() as producer:
        for i in range(count):
            producer.publish(
                {"i": i}, exchange="", routing_key=queue, declare=[_queue(queue)], **properties
            )


class _Held:
    def __init__(self, consumer):
        self.consumer = consumer

    def close(self):
        self.consumer.cancel()


def _hold_one(conn: Connection, queue: str):
    """Take one message without acking it (as a running handler under acks_late, with
    prefetch 1)."""
    received = []
    channel = conn.channel()
    consumer = conn.Consumer(
        [_queue(queue)],
        channel=channel,
        callbacks=[lambda _body, message: received.append(message)],
        prefetch_count=1,
    )
    consumer.consume()
    while not received:
        conn.drain_events(timeout=10)
    return _Held(consumer), received[0]


# -- RabbitMQ over AMQP -------------------------------------------------------------------
@pytest.mark.rabbitmq
def test_amqp_sees_ready_and_consumers_but_not_unacked(rabbitmq_url):
    queue = f"eventfn.fn.metrics-{uuid.uuid4().hex[:8]}"
    source = AmqpQueueStats(rabbitmq_url)
    try:
        missing = source.queue_stats(queue)
        assert (missing.ready, missing.unacked, missing.consumers) == (0, None, 0)
        with Connection(rabbitmq_url) as conn:
            _publish(conn, queue, 3)
            simple, message = _hold_one(conn, queue)
            stats = source.queue_stats(queue)
            assert stats.ready == 2
            assert stats.unacked is None  # the AMQP trap: a running handler is invisible
            assert stats.consumers == 1
            message.ack()
            simple.close()
            conn.default_channel.queue_delete(queue)
        assert source.queue_stats(queue).ready == 0  # a 404 does not break the source
    finally:
        source.close()
    assert source.sees_unacked is False


def test_amqp_unreachable_is_metrics_unavailable():
    source = AmqpQueueStats("amqp://guest:guest@127.0.0.1:1//", connect_timeout=1)
    with pytest.raises(MetricsUnavailable, match="rabbitmq-amqp"):
        source.queue_stats("eventfn.fn.x")
    source.close()


# -- Redis --------------------------------------------------------------------------------
@pytest.mark.redis
def test_redis_counts_priority_lists_and_our_unacked_entries(redis_url):
    queue = f"eventfn.fn.metrics-{uuid.uuid4().hex[:8]}"
    other = f"{queue}-other"
    source = RedisQueueStats(redis_url)
    try:
        assert source.queue_stats(queue).model_dump() == {
            "queue": queue,
            "ready": 0,
            "unacked": 0,
            "consumers": None,
        }
        with Connection(redis_url) as conn:
            _publish(conn, queue, 3)
            _publish(conn, queue, 2, priority=5)  # a priority sub-list
            _publish(conn, other, 1)
            held, message = _hold_one(conn, queue)
            held_other, other_message = _hold_one(conn, other)
            stats = source.queue_stats(queue)
            assert (stats.ready, stats.unacked) == (4, 1)
            assert source.queue_stats(other).model_dump()["unacked"] == 1
            message.ack()
            other_message.ack()
            assert source.queue_stats(queue).unacked == 0
            held.close()
            held_other.close()
    finally:
        source.close()


# -- embedded SQLite broker -----------------------------------------------------------------
def test_embedded_counts_visible_and_claimed_rows(tmp_path):
    sqlite.register()
    url = f"sqlite://localhost/{tmp_path / 'state' / 'broker.db'}"
    queue = "eventfn.fn.metrics"
    source = EmbeddedQueueStats(url)
    try:
        assert source.queue_stats(queue).ready == 0  # no database file yet
        with connect(Settings(broker_url=url), url) as conn:
            _publish(conn, queue, 3)
            held, message = _hold_one(conn, queue)
            stats = source.queue_stats(queue)
            assert (stats.ready, stats.unacked, stats.consumers) == (2, 1, None)
            message.ack()
            assert source.queue_stats(queue).work == 2
            held.close()
    finally:
        source.close()


# -- the RabbitMQ management API --------------------------------------------------------------
class ManagementApi:
    """Serves ``GET /api/queues/{vhost}/{name}`` as the management plugin documents it."""

    def __init__(self):
        self.queues = {}
        self.requests = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                api.requests.append((self.path, self.headers.get("Authorization")))
                body = api.queues.get(self.path)
                if self.path == "/api/queues/%2F/broken":
                    self.send_response(500)
                    self.end_headers()
                    return
                data = json.dumps(
                    body or {"error": "Object Not Found", "reason": "Not Found"}
                ).encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://monitor:s3cret@127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def management():
    api = ManagementApi()
    yield api
    api.close()


def test_management_api_sees_ready_and_unacked(management):
    # an excerpt of a real answer (RabbitMQ 3.x), fields the source does not read included
    management.queues["/api/queues/shop%2Fprod/eventfn.fn.resize-image"] = {
        "name": "eventfn.fn.resize-image",
        "vhost": "shop/prod",
        "durable": True,
        "consumers": 3,
        "messages": 17,
        "messages_ready": 12,
        "messages_unacknowledged": 5,
        "message_stats": {"ack": 40, "ack_details": {"rate": 2.5}},
        "state": "running",
    }
    source = open_metrics_source("amqp://u:p@rabbit:5672/shop%2Fprod", management.url)
    assert isinstance(source, ManagementQueueStats)
    stats = source.queue_stats("eventfn.fn.resize-image")
    assert (stats.ready, stats.unacked, stats.consumers) == (12, 5, 3)
    path, auth = management.requests[-1]
    assert path == "/api/queues/shop%2Fprod/eventfn.fn.resize-image"
    assert auth == "Basic " + base64.b64encode(b"monitor:s3cret").decode()


def test_management_api_missing_queue_and_fields_and_errors(management):
    source = ManagementQueueStats(management.url)
    assert source.queue_stats("eventfn.fn.absent").work == 0  # 404: not declared yet
    management.queues["/api/queues/%2F/eventfn.fn.new"] = {"name": "eventfn.fn.new"}
    assert source.queue_stats("eventfn.fn.new").model_dump() == {
        "queue": "eventfn.fn.new",
        "ready": 0,
        "unacked": 0,
        "consumers": 0,
    }  # created since the last statistics sample
    with pytest.raises(MetricsUnavailable, match="HTTP 500"):
        source.queue_stats("broken")
    with pytest.raises(ValueError, match="http"):
        ManagementQueueStats("amqp://x")


def test_open_metrics_source_picks_by_scheme(tmp_path):
    assert isinstance(open_metrics_source("amqp://g:g@127.0.0.1:5672//"), AmqpQueueStats)
    assert isinstance(open_metrics_source("redis://127.0.0.1:6379/15"), RedisQueueStats)
    assert isinstance(
        open_metrics_source(f"sqlite://localhost/{tmp_path / 'b.db'}"), EmbeddedQueueStats
    )
    with pytest.raises(ValueError, match="no metrics source"):
        open_metrics_source("kafka://x")
    with pytest.raises(ValueError, match="only applies to RabbitMQ"):
        open_metrics_source("redis://x", "http://y")
