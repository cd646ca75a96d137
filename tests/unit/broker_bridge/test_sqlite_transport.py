"""The embedded SQLite transport: durable, shared across processes, redelivers on crash."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from kombu import Connection, Consumer, Producer, Queue

from broker_bridge.transport import sqlite

sqlite.register()


def url_for(tmp_path: Path) -> str:
    return f"sqlite://localhost/{tmp_path / 'broker.db'}"


def conn(url: str, visibility_timeout: float = 300.0) -> Connection:
    return Connection(
        url, transport_options={"visibility_timeout": visibility_timeout, "polling_interval": 0.01}
    )


QUEUE = Queue("q", exchange="", routing_key="q", durable=True)


def publish(url: str, bodies: list[str]) -> None:
    with conn(url) as c:
        producer = Producer(c.default_channel)
        for body in bodies:
            producer.publish(body, exchange="", routing_key="q", serializer="json", declare=[QUEUE])


def consume(url: str, n: int, *, ack: bool, vt: float = 300.0) -> list[str]:
    got: list[str] = []
    with conn(url, vt) as c:

        def on(body: str, message: object) -> None:
            got.append(body)
            if ack:
                message.ack()  # type: ignore[attr-defined]

        with Consumer(c, [QUEUE], callbacks=[on], accept=["json"], prefetch_count=n):
            while len(got) < n:
                c.drain_events(timeout=5)
        if not ack:
            # simulate a crash: do not restore unacked messages on close
            c.default_channel.qos.restore_at_shutdown = False
    return got


def test_messages_survive_a_new_connection_and_are_fifo(tmp_path: Path) -> None:
    url = url_for(tmp_path)
    publish(url, [f"m{i}" for i in range(20)])
    assert consume(url, 20, ack=True) == [f"m{i}" for i in range(20)]
    with conn(url) as c:
        assert c.default_channel.queue_declare("q", passive=True).message_count == 0


def test_other_process_consumes_what_this_one_published(tmp_path: Path) -> None:
    url = url_for(tmp_path)
    publish(url, ["a", "b", "c"])
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_sqlite_transport import consume
        print(",".join(consume({url!r}, 3, ack=True)))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "a,b,c"


def test_unacked_message_of_a_killed_consumer_is_redelivered(tmp_path: Path) -> None:
    url = url_for(tmp_path)
    publish(url, ["precious"])
    code = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from broker_bridge.transport import sqlite
        sqlite.register()
        from kombu import Connection, Consumer
        from test_sqlite_transport import QUEUE, conn
        c = conn({url!r}, visibility_timeout=0.5)
        def on(body, message):
            print("got", body, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        with Consumer(c, [QUEUE], callbacks=[on], accept=["json"]):
            c.drain_events(timeout=5)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == -signal.SIGKILL
    assert "got precious" in proc.stdout
    # claimed by the dead process: invisible until its visibility timeout ends
    assert consume(url, 1, ack=True, vt=0.5) == ["precious"]


def test_reject_with_requeue_makes_it_visible_and_ack_deletes(tmp_path: Path) -> None:
    url = url_for(tmp_path)
    publish(url, ["x"])
    with conn(url) as c:
        channel = c.default_channel
        message = channel.basic_get("q")
        assert message is not None
        assert channel.basic_get("q") is None, "a claimed message is not delivered twice"
        message.reject(requeue=True)
        again = channel.basic_get("q")
        assert again is not None
        assert again.delivery_info["redelivered"] is True
        again.ack()
        assert channel.basic_get("q") is None
        assert channel.queue_declare("q", passive=True).message_count == 0


def test_channel_close_restores_unacked(tmp_path: Path) -> None:
    url = url_for(tmp_path)
    publish(url, ["y"])
    with conn(url) as c:
        assert c.default_channel.basic_get("q") is not None
    assert consume(url, 1, ack=True) == ["y"]


def test_url_without_path_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a database path"):
        Connection("sqlite://").connect()
