"""Direct invocation (``handler.send``, ``eventfn invoke``) on the embedded broker,
RabbitMQ and Redis, handled by real ``eventfn worker`` processes.

The workers record every delivery through the recording hook
(``EVENTFN_RECORD_FILE``), read back by the process harness of the testing kit.
Functions: tests/fixtures/kit/invoke_functions.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection, Queue
from wr_support import depth

from broker_bridge.config import Settings
from broker_bridge.publisher import Publisher
from broker_bridge.taskmessage import build_task_message
from broker_bridge.transport import sqlite
from worker_runtime import UnknownFunction, send
from worker_runtime.testing import ProcessHarness
from worker_runtime.testing.loading import registry_for

FUNCTIONS = str(Path(__file__).resolve().parents[2] / "fixtures" / "kit" / "invoke_functions.py")
EVENTFN = [sys.executable, "-c", "from broker_bridge.cli import main; main()"]
NAMES = ["inv-echo", "inv-flaky"]

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


def invoke(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EVENTFN, "invoke", *args, "--functions", FUNCTIONS, "--broker", url],
        env={**os.environ, "EVENTFN_LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def take_all(url: str, queue_name: str) -> list[Any]:
    sqlite.register()
    taken: list[Any] = []
    with Connection(url) as conn:
        queue = Queue(queue_name, exchange="", routing_key=queue_name, durable=True)(
            conn.default_channel
        )
        queue.declare()
        while (message := queue.get(no_ack=False, accept=None)) is not None:
            body = message.body if isinstance(message.body, bytes) else message.body.encode()
            taken.append((body, dict(message.headers or {}), message.properties))
            message.ack()
    return taken


@pytest.fixture
def workers(broker: Any, tmp_path: Path) -> Iterator[ProcessHarness]:
    broker.reset(NAMES)
    harness = ProcessHarness(
        registry_for(FUNCTIONS), FUNCTIONS, tmp_path / "run", broker_url=broker.url
    )
    with harness:
        yield harness


def test_send_and_invoke_reach_the_function_through_the_worker_path(
    workers: ProcessHarness, broker: Any
) -> None:
    import eventfn_user_invoke_functions as fns  # loaded by path by registry_for

    # handler.send from Python: defaults, an override, an extension
    sent = fns.echo.send({"n": 1}, subject="job/1", tenant="acme")
    [first] = workers.wait_for("inv-echo", timeout=120)
    assert first.event is not None
    assert first.event.get_id() == sent
    assert first.event.get_type() == "eventfn.invoke.inv-echo"
    assert first.event.get_source() == "/eventfn/invoke"
    assert first.event.get_subject() == "job/1"
    assert first.event.get_attributes()["tenant"] == "acme"
    assert first.event.get_data() == {"n": 1}
    assert first.outcome == "ok"
    assert first.replies[0].get_data() == {"echo": {"n": 1}}

    # eventfn invoke: the printed id is the event the worker handled
    done = invoke(
        broker.url,
        "inv-echo",
        "--data",
        '{"n": 2}',
        "--type",
        "com.example.custom",
        "--attr",
        "tenant=globex",
        "--id",
        "cli-1",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "cli-1"
    second = workers.wait_for("inv-echo", count=2, timeout=120)[1]
    assert second.event is not None
    assert second.event.get_id() == "cli-1"
    assert second.event.get_type() == "com.example.custom"
    assert second.event.get_attributes()["tenant"] == "globex"
    assert second.event.get_data() == {"n": 2}

    # the same (source, id) again: the idempotent function skips it, as for routed events
    assert invoke(broker.url, "inv-echo", "--id", "cli-1").returncode == 0
    third = workers.wait_for("inv-echo", count=3, timeout=120)[2]
    assert third.outcome == "duplicate"


def test_sent_events_are_retried_and_dead_lettered_like_routed_ones(
    workers: ProcessHarness,
) -> None:
    # sent from inside a worker's handler (a prefork child): a background job
    workers.publish({"type": "com.example.inv.ping", "source": "/tests", "data": {"relay": "x"}})
    [ok] = workers.wait_for("inv-flaky", timeout=120)
    assert ok.event is not None
    assert (ok.event.get_subject(), ok.event.get_data()) == ("relayed", "x")
    assert (ok.outcome, ok.attempts) == ("ok", 2)

    exhausted = workers.send("inv-flaky", "always")
    refused = workers.send("inv-flaky", "permanent")
    letters = workers.wait_for_dead_letters("inv-flaky", count=2, timeout=120)
    by_id = {letter.event.get_id(): letter for letter in letters if letter.event}
    assert by_id[exhausted].attempts == 3
    assert by_id[exhausted].error_type == "builtins.ConnectionError"
    assert by_id[refused].attempts == 1
    assert by_id[refused].error_message == "refused on attempt 1"


def test_unknown_function_is_refused_and_nothing_is_published(broker: Any, tmp_path: Path) -> None:
    broker.reset(["inv-nope"])
    done = invoke(broker.url, "inv-nope", "--data", "{}")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines == ["Error: unknown function 'inv-nope'; known: inv-echo, inv-flaky"]
    assert done.stdout == ""
    assert depth(broker.url, "eventfn.fn.inv-nope") == 0

    registry = registry_for(FUNCTIONS)
    with (
        Publisher(broker.url, settings=Settings(broker_url=broker.url)) as publisher,
        pytest.raises(UnknownFunction, match="inv-nope"),
    ):
        send("inv-nope", {}, publisher=publisher, registry=registry)
    assert depth(broker.url, "eventfn.fn.inv-nope") == 0


def test_send_publishes_the_task_message_the_bridge_would(broker: Any) -> None:
    broker.reset(["inv-flaky"])
    registry = registry_for(FUNCTIONS)
    with Publisher(broker.url, settings=Settings(broker_url=broker.url)) as publisher:
        event_id = send(
            "inv-flaky", {"k": "v"}, publisher=publisher, registry=registry, subject="s"
        )
    [(body, headers, properties)] = take_all(broker.url, "eventfn.fn.inv-flaky")
    args, kwargs, _ = json.loads(body)
    event = json.loads(args[0])
    assert (event["id"], event["subject"], event["data"]) == (event_id, "s", {"k": "v"})
    expected = build_task_message("inv-flaky", args[0], "/eventfn/invoke", event_id)
    assert kwargs == {}
    assert body == expected.body
    assert headers["task"] == expected.headers["task"] == "eventfn.fn.inv-flaky"
    assert headers["id"] == expected.headers["id"]
    assert headers["eventfn_attempt"] == 1
    assert properties.get("correlation_id") == expected.properties["correlation_id"]


def test_invoke_takes_data_from_a_file_and_refuses_a_malformed_attr(
    broker: Any, tmp_path: Path
) -> None:
    broker.reset(["inv-flaky"])
    data_file = tmp_path / "order.json"
    data_file.write_text('{"order": 7, "note": "héllo ✓"}', encoding="utf-8")
    done = invoke(broker.url, "inv-flaky", "--data-file", str(data_file), "--subject", "o/7")
    assert done.returncode == 0, done.stderr
    [(body, _, _)] = take_all(broker.url, "eventfn.fn.inv-flaky")
    event = json.loads(json.loads(body)[0][0])
    assert event["id"] == done.stdout.strip()
    assert (event["subject"], event["data"]) == ("o/7", {"order": 7, "note": "héllo ✓"})
    assert event["datacontenttype"] == "application/json"

    bad = invoke(broker.url, "inv-flaky", "--attr", "novalue")
    assert bad.returncode == 2
    assert "'novalue' is not NAME=VALUE" in bad.stderr
    assert depth(broker.url, "eventfn.fn.inv-flaky") == 0
