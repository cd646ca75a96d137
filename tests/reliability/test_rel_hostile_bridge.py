"""Hostile messages on the broker: the bridge's input queue and a function's queue.

* A fixed corpus of malformed, oversized and pickled messages is published (three
  rounds, among good events) straight onto ``eventfn.bridge``, past the ingress, as
  a compromised or buggy producer could. A real ``eventfn bridge`` must dead-letter
  each one with its bytes unchanged and the reason, route every good event exactly
  once, never fall into its reconnect loop (a decoder that raises would redeliver the
  message forever and stall all routing), and keep its memory bounded.
* A pickle that would run code when unpickled is put on the bridge's queue and, as
  a Celery task message, on a function's queue: the bridge dead-letters it, the
  worker refuses it (``accept_content`` is JSON only); neither runs it.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection
from rel_functions import PLAIN
from rel_support import (
    Broker,
    Pipeline,
    alive,
    depth,
    drain,
    event,
    records,
    rss_kib,
    wait_handled,
)

from broker_bridge import topology
from broker_bridge.config import Settings
from broker_bridge.publisher import Publisher
from worker_runtime.testing import wait_until

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(600)]

ROUNDS = 3
STRUCTURED = "application/cloudevents+json"
CE = {"ce-specversion": "1.0", "ce-id": "x-1", "ce-source": "/hostile", "ce-type": PLAIN}


def _structured(**extra: Any) -> bytes:
    return json.dumps(
        {"specversion": "1.0", "id": "x-1", "source": "/hostile", "type": PLAIN, **extra}
    ).encode()


class Exploit:
    """Unpickling this creates a directory: the proof that a pickle was executed."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.mkdir, (str(self.path),))


#: name -> (body, content type, application headers)
def _corpus(exploit: bytes) -> dict[str, tuple[bytes, str | None, dict[str, Any]]]:
    return {
        "truncated-json": (_structured()[:-5], STRUCTURED, {}),
        "invalid-utf8": (b'{"specversion":"1.0","id":"\xff"}', STRUCTURED, {}),
        "deep-nesting": (b"[" * 300_000 + b"]" * 300_000, STRUCTURED, {}),
        "8MiB-garbage": (os.urandom(8 << 20), STRUCTURED, {}),
        "pickle-no-headers": (exploit, "application/x-python-serialize", {}),
        "pickle-binary-mode": (exploit, "application/x-python-serialize", dict(CE)),
        "pickle-structured-data": (
            _structured(datacontenttype="application/x-python-serialize", data_base64="gARLAS4="),
            STRUCTURED,
            {},
        ),
        "number-out-of-range-binary": (b"1e999", "application/json", dict(CE)),
        "number-out-of-range-structured": (_structured()[:-1] + b',"data":1e999}', STRUCTURED, {}),
        "hop-limit": (_structured(eventfnhops=17), STRUCTURED, {}),
        "amqp-table-header": (b"x", "text/plain", {**CE, "ce-subject": {"a": 1}}),
        "amqp-array-header": (b"x", "text/plain", {**CE, "ce-subject": [1, 2]}),
        "amqp-float-header": (b"x", "text/plain", {**CE, "ce-subject": 1.5}),
        "non-utf8-header": (b"x", "text/plain", {**CE, "ce-id": b"\xff\xfe"}),
        "control-char-attribute": (_structured(subject="a\u0000b"), STRUCTURED, {}),
        "batch-on-amqp": (
            json.dumps([json.loads(_structured())]).encode(),
            "application/cloudevents-batch+json",
            {},
        ),
        "xml-format": (b"<event/>", "application/cloudevents+xml", {}),
        "1000-headers": (b"x", "text/plain", {f"h{i}": "v" for i in range(1000)}),
        "empty-body": (b"", STRUCTURED, {}),
        "binary-without-specversion": (b"x", "text/plain", {"ce-id": "1", "ce-source": "/s"}),
    }


def _publish_raw(
    url: str, items: list[tuple[str, bytes, str | None, dict[str, Any]]], queue: str
) -> None:
    with Connection(url) as conn:
        producer = conn.Producer()
        for name, body, content_type, headers in items:
            producer.publish(
                body,
                exchange="",
                routing_key=queue,
                content_type=content_type or "application/octet-stream",
                content_encoding="binary",
                headers={**headers, "x-corpus": name},
                delivery_mode=2,
            )


def test_hostile_bridge_input_is_dead_lettered_and_the_bridge_keeps_routing(
    rel_broker: Broker, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned-by-bridge-input"
    corpus = _corpus(pickle.dumps(Exploit(marker)))
    pipe = Pipeline(tmp_path, rel_broker.vhost())
    fn_queue = topology.function_queue_name("rel-plain")
    try:
        bridge = pipe.start("bridge", name="bridge")
        with Publisher(pipe.url, settings=Settings(broker_url=pipe.url)) as publisher:
            publisher.publish_many([event(PLAIN, f"warm-{i}") for i in range(50)])
            wait_until(lambda: depth(pipe.url, fn_queue) >= 50, timeout=120)
            rss = [rss_kib(bridge.pid)]
            for round_ in range(ROUNDS):
                publisher.publish_many([event(PLAIN, f"g{round_}-a{i}") for i in range(10)])
                items = [(name, *item) for name, item in corpus.items()]
                _publish_raw(pipe.url, items, topology.BRIDGE_QUEUE)
                publisher.publish_many([event(PLAIN, f"g{round_}-b{i}") for i in range(10)])
                wait_until(
                    lambda r=round_: depth(pipe.url, topology.BRIDGE_DLQ) >= len(corpus) * (r + 1),
                    timeout=300,
                    interval=0.2,
                    message="the corpus in the bridge's dead-letter queue",
                )
                rss.append(rss_kib(bridge.pid))
        good = 50 + ROUNDS * 20
        wait_until(lambda: depth(pipe.url, fn_queue) >= good, timeout=300, interval=0.2)
        wait_until(lambda: depth(pipe.url, topology.BRIDGE_QUEUE) == 0, timeout=120)
        assert alive(bridge), "the bridge died"
    finally:
        pipe.close()
    assert not marker.exists(), "a pickle was executed"
    log = bridge.log_text()
    assert "bridge lost the broker" not in log, (
        "a hostile message sent the bridge into its reconnect loop"
    )
    letters = drain(pipe.url, topology.BRIDGE_DLQ)
    assert len(letters) == ROUNDS * len(corpus)
    by_name: dict[str, int] = {}
    for letter in letters:
        name = letter.headers["x-corpus"]
        by_name[name] = by_name.get(name, 0) + 1
        body, _, _ = corpus[name]
        received = letter.body if isinstance(letter.body, bytes) else letter.body.encode()
        assert received == body, f"{name} ({letter.content_encoding}): the input must be unchanged"
        assert letter.headers["eventfnerror"], name
        assert letter.headers["eventfnerrortype"], name
    assert by_name == dict.fromkeys(corpus, ROUNDS)
    routed = [json.loads(json.loads(m.body)[0][0])["id"] for m in drain(pipe.url, fn_queue)]
    assert sorted(routed) == sorted(set(routed)), "a good event was routed twice"
    assert len(routed) == good
    print(f"bridge RSS KiB per round: {rss}")
    assert rss[-1] - rss[1] <= 16 * 1024, f"bridge RSS grows per round: {rss}"
    assert rss[-1] - rss[0] <= 96 * 1024, f"bridge RSS grew by more than 96 MiB: {rss}"
    pipe.assert_secret_never_logged()


def test_a_pickled_task_message_is_refused_by_the_worker_never_run(
    rel_broker: Broker, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned-by-task"
    # a protocol-2 Celery task message for rel-plain whose body is a pickle
    exploit = pickle.dumps(((Exploit(marker),), {}, {}))
    headers = {
        "lang": "py",
        "task": "eventfn.fn.rel-plain",
        "id": "pickled-1",
        "root_id": "pickled-1",
        "retries": 0,
        "eventfn_attempt": 1,
    }
    pipe = Pipeline(tmp_path, rel_broker.vhost())
    fn_queue = topology.function_queue_name("rel-plain")
    try:
        with Publisher(pipe.url, settings=Settings(broker_url=pipe.url)) as publisher:
            publisher.publish_to_function("rel-plain", event(PLAIN, "before"))
            _publish_raw(
                pipe.url,
                [("task-pickle", exploit, "application/x-python-serialize", headers)],
                fn_queue,
            )
            publisher.publish_to_function("rel-plain", event(PLAIN, "after"))
        worker = pipe.worker("rel-plain", "-c", "1", name="worker")
        wait_handled(pipe.record_file, {"rel-plain": {"before", "after"}}, timeout=120)
        rel_broker.wait_quiet(pipe.url)
        assert alive(worker)
    finally:
        pipe.close()
    assert not marker.exists(), "the worker unpickled and ran a task message"
    assert [r["id"] for r in records(pipe.record_file)] == ["before", "after"]
    log = worker.log_text()
    assert "ContentDisallowed" in log or "Refusing to deserialize" in log, log[-3000:]
    assert depth(pipe.url, fn_queue) == 0, "the refused message must not loop on the queue"
