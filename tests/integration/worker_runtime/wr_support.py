"""Helpers for the worker runtime's integration tests: send task messages like the
bridge does, start real ``eventfn worker`` processes, read records and queues."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kombu import Connection, Queue

from broker_bridge.event import new_event
from broker_bridge.formats.json import to_json
from broker_bridge.taskmessage import build_task_message
from broker_bridge.transport import sqlite
from worker_runtime.testing import EventfnProcess

FNS = str(Path(__file__).with_name("fns.py"))


def event_json(event_id: str, data: Any = None, **attributes: Any) -> str:
    attrs = {"type": "com.example.test", "source": "/tests/worker", "id": event_id, **attributes}
    return to_json(new_event(attrs, data)).decode()


def send(url: str, function: str, bodies: list[str], copies: int = 1) -> None:
    """Publish one task message per body (``copies`` times each) to ``function``'s queue."""
    sqlite.register()
    queue_name = f"eventfn.fn.{function}"
    queue = Queue(queue_name, exchange="", routing_key=queue_name, durable=True)
    with Connection(url, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer()
        for body in bodies:
            envelope = json.loads(body)
            task = build_task_message(function, body, envelope["source"], envelope["id"])
            for _ in range(copies):
                producer.publish(
                    task.body,
                    exchange="",
                    routing_key=queue_name,
                    declare=[queue],
                    headers=task.headers,
                    content_type=task.content_type,
                    content_encoding=task.content_encoding,
                    **task.properties,
                )


def depth(url: str, queue_name: str) -> int:
    """Ready messages in ``queue_name`` (0 when it does not exist)."""
    sqlite.register()
    with Connection(url) as conn:
        channel = conn.channel()
        try:
            _, count, _ = channel.queue_declare(queue_name, durable=True, passive=True)
        except Exception:
            return 0
        finally:
            channel.close()
    return int(count)


def drain(url: str, queue_name: str) -> list[tuple[bytes, dict[str, Any], str]]:
    """Consume every message of ``queue_name``: (body, headers, content type)."""
    sqlite.register()
    out: list[tuple[bytes, dict[str, Any], str]] = []
    with Connection(url) as conn:
        queue = Queue(queue_name, exchange="", routing_key=queue_name, durable=True)(
            conn.default_channel
        )
        queue.declare()
        while (message := queue.get(no_ack=False, accept=None)) is not None:
            body = message.body if isinstance(message.body, bytes) else message.body.encode()
            out.append((body, dict(message.headers or {}), message.content_type))
            message.ack()
    return out


def records(path: Path, fn: str | None = None) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [row for row in rows if fn is None or row["fn"] == fn]


def worker(
    tmp_path: Path,
    url: str,
    function: str,
    *extra: str,
    name: str = "worker",
    env: dict[str, str] | None = None,
) -> EventfnProcess:
    environment = {
        "EVENTFN_BROKER_URL": url,
        "EVENTFN_STATE_DIR": str(tmp_path / "state"),
        "EVENTFN_TEST_RECORD": str(tmp_path / "records.jsonl"),
        "EVENTFN_TEST_FIXED": str(tmp_path / "fixed"),
        **(env or {}),
    }
    return EventfnProcess(
        ["worker", function, "--functions", FNS, *extra],
        log_path=tmp_path / f"{name}.log",
        env=environment,
        cwd=tmp_path,
        ready_line="ready.",
    )


_VHOST = "eventfn-worker-runtime-tests"
_isolated: dict[str, str] = {}


def isolated(broker: Any) -> Any:
    """On RabbitMQ, move ``broker`` to a vhost of its own (created with rabbitmqctl when
    possible), so other processes sharing the node (bridges of other test runs) never
    consume this test's messages; other brokers are returned as they are."""
    if broker.kind != "rabbitmq":
        return broker
    if "url" not in _isolated:
        import shutil
        import subprocess

        url = broker.url
        ctl = shutil.which("rabbitmqctl")
        if ctl is not None:
            made = subprocess.run(
                [ctl, "add_vhost", _VHOST], capture_output=True, timeout=60, check=False
            )
            if made.returncode == 0 or b"already exists" in made.stderr + made.stdout:
                subprocess.run(
                    [ctl, "set_permissions", "-p", _VHOST, "guest", ".*", ".*", ".*"],
                    capture_output=True,
                    timeout=60,
                    check=True,
                )
                url = broker.url.rstrip("/").rsplit("/", 1)[0] + "/" + _VHOST
        _isolated["url"] = url
    broker.url = _isolated["url"]
    return broker
