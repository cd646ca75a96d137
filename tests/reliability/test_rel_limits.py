"""Oversized events against a real pipeline (ingress, bridge, worker) on a private node.

Reproduced on main before the fix (2026-12-02): a structured POST with a 200 KB
``id`` got 202, the bridge's task message then exceeded RabbitMQ's frame_max, the
broker closed the bridge's connection (``FRAME_ERROR``) and the batch came back
first, forever: nothing after it was ever routed.

Now every case is measured and must leave routing running:

* at the ingress, a 200 KB ``id`` and a 130 KB extension are refused with 413
  problem+json naming the attribute and the limit; an event exactly at the limit
  is accepted and handled, one byte more is refused (through ``POST /`` and
  ``POST /functions/NAME``);
* past the ingress, straight onto the bridge's queue: a structured 200 KB ``id``
  is routed and handled; a binary-mode invalid event whose headers nearly fill the
  frame (its dead letter would not fit) is dead-lettered with a bounded context;
* one function queue that refuses every publish (a ``reject-publish`` policy, so
  the broker nacks) in the middle of mixed batches: those inputs are dead-lettered
  with the reason, every other event is handled, the bridge never reconnects.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from kombu import Connection, Producer
from rel_functions import IDEM, PLAIN
from rel_support import (
    Broker,
    Pipeline,
    drain,
    event,
    ingress_url,
    records,
    tally,
    wait_handled,
)

from broker_bridge import topology
from broker_bridge.limits import MessageLimits, properties_size

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(600)]

STRUCTURED = "application/cloudevents+json"
LIMITS = MessageLimits()  # the private node negotiates RabbitMQ's default frame_max


def _ce(event_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "type": PLAIN,
        "source": "/tests/limits",
        "id": event_id,
        "datacontenttype": "application/json",
        **extra,
        "data": {"id": event_id},
    }


def _attribute_size(ce: dict[str, Any]) -> int:
    attributes = {f"ce-{k}": v for k, v in ce.items() if k != "data"}
    return properties_size(attributes)


def _at_limit(event_id: str, extra: int = 0) -> dict[str, Any]:
    """An event whose attributes take exactly the budget (+ ``extra`` bytes)."""
    ce = _ce(event_id, pad="")
    ce["pad"] = "p" * (LIMITS.attribute_budget - _attribute_size(ce) + extra)
    assert _attribute_size(ce) == LIMITS.attribute_budget + extra
    return ce


def _post(
    client: httpx.Client, base: str, ce: dict[str, Any], path: str = "/"
) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.post(
        base + path, content=json.dumps(ce).encode(), headers={"content-type": STRUCTURED}
    )
    return response, time.monotonic() - started


def _assert_refused(response: httpx.Response, attribute: str) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:eventfn:problem:event-too-large"
    assert problem["attribute"] == attribute
    assert problem["limit"] == LIMITS.attribute_budget
    assert problem["size"] > problem["limit"]
    assert repr(attribute) in problem["detail"]
    assert str(problem["limit"]) in problem["detail"]


def test_oversized_events_are_refused_or_dead_lettered_and_routing_goes_on(
    rel_broker: Broker, tmp_path: Path
) -> None:
    url = rel_broker.vhost()
    vhost = url.rsplit("/", 1)[1]
    pipe = Pipeline(tmp_path, url)
    try:
        pipe.start("bridge", name="bridge")
        pipe.worker("rel-plain", name="worker-plain")
        pipe.worker("rel-idem", name="worker-idem")
        ingress = pipe.start("ingress", name="ingress")
        base = ingress_url(ingress)
        accepted: list[str] = []
        longest = 0.0
        with httpx.Client(timeout=30) as client:
            # -- at the door --------------------------------------------------------------
            refusals = {
                "id": _ce("x" * 200_000),
                "bigext": _ce(f"ext-{uuid.uuid4().hex}", bigext="e" * 130_000),
                "pad": _at_limit(f"over-{uuid.uuid4().hex}", extra=1),
            }
            for attribute, ce in refusals.items():
                for path in ("/", "/functions/rel-plain"):
                    response, took = _post(client, base, ce, path)
                    longest = max(longest, took)
                    _assert_refused(response, attribute)
            for path in ("/", "/functions/rel-plain"):
                ce = _at_limit(f"at-limit-{uuid.uuid4().hex}")
                response, took = _post(client, base, ce, path)
                longest = max(longest, took)
                assert response.status_code == 202, response.text
                accepted.append(ce["id"])

            # -- past the door, straight onto the bridge's queue ------------------------------
            long_id = "L" * 200_000
            dl_id = f"binary-invalid-{uuid.uuid4().hex}"
            headers = {
                "ce-specversion": "1.0",
                "ce-id": dl_id,
                "ce-type": PLAIN,  # no ce-source: invalid, so it is dead-lettered
                "ce-bulk": "",
            }
            # the input fills its frame but for 60 bytes: no room for an error context
            room = LIMITS.max_properties - 60
            size = properties_size(headers, {"delivery_mode": 2}, "application/json", "utf-8")
            headers["ce-bulk"] = "b" * (room - size)
            with Connection(url) as conn:
                producer = Producer(conn.channel())
                producer.publish(
                    json.dumps(_ce(long_id)).encode(),
                    routing_key=topology.BRIDGE_QUEUE,
                    exchange="",
                    content_type=STRUCTURED,
                    content_encoding="utf-8",
                    declare=[topology.bridge_queue()],
                )
                producer.publish(
                    b"{}",
                    routing_key=topology.BRIDGE_QUEUE,
                    exchange="",
                    headers=headers,
                    content_type="application/json",
                    content_encoding="utf-8",
                )
            accepted.append(long_id)

            # -- one function queue whose publishes the broker refuses -------------------------
            rel_broker._ctl(
                "set_policy",
                "-p",
                vhost,
                "refuse-idem",
                f"^{topology.function_queue_name('rel-idem')}$",
                '{"max-length":0,"overflow":"reject-publish"}',
                "--apply-to",
                "queues",
            )
            time.sleep(2)  # the policy reaches the queue
            refused_ids: list[str] = []
            with Connection(url) as conn:
                producer = Producer(conn.channel())
                for n in range(200):
                    kind = IDEM if n % 10 == 3 else PLAIN
                    event_id = f"mixed-{n}-{uuid.uuid4().hex[:6]}"
                    (refused_ids if kind == IDEM else accepted).append(event_id)
                    producer.publish(
                        json.dumps(event(kind, event_id)).encode(),
                        routing_key=topology.BRIDGE_QUEUE,
                        exchange="",
                        content_type=STRUCTURED,
                        content_encoding="utf-8",
                    )
            # routing went on: a good event after all of it is handled
            after = _ce(f"after-{uuid.uuid4().hex}")
            response, took = _post(client, base, after)
            longest = max(longest, took)
            assert response.status_code == 202, response.text
            accepted.append(after["id"])

        started = time.monotonic()
        wait_handled(pipe.record_file, {"rel-plain": set(accepted)}, timeout=120)
        recovered = time.monotonic() - started
        result = tally(
            "oversized-events",
            "rel-plain",
            accepted,
            [row["id"] for row in records(pipe.record_file, "rel-plain")],
            longest_response_s=round(longest, 3),
            time_to_recover_s=0.0,
            handled_after_s=round(recovered, 2),
            refused_413=6,
            dead_lettered=len(refused_ids) + 1,
        )
        assert result.lost == 0
        assert not records(pipe.record_file, "rel-idem")

        letters = {}
        deadline = time.monotonic() + 60
        while len(letters) < len(refused_ids) + 1 and time.monotonic() < deadline:
            for message in drain(url, topology.BRIDGE_DLQ):
                key = message.headers.get("ce-id") or json.loads(message.body).get("id")
                letters[key] = message
            time.sleep(0.5)
        assert set(letters) == {dl_id, *refused_ids}
        big = letters[dl_id]
        assert "ce-bulk" in big.headers["eventfndroppedheaders"]
        assert "source" in big.headers["eventfnerror"]
        assert big.body in (b"{}", "{}")
        for event_id in refused_ids:
            letter = letters[event_id]
            assert letter.headers["eventfnerrortype"] == "PublishRefused"
            assert topology.function_queue_name("rel-idem") in letter.headers["eventfnerror"]
            assert json.loads(letter.body)["id"] == event_id
        assert len(str(big.headers)) < LIMITS.max_properties
        assert "bridge lost the broker" not in pipe.logs()
        assert "ingress bug" not in pipe.logs()
    finally:
        pipe.close()
