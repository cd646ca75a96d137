"""Poison events among good ones, and handlers that hang past their timeout.

Real bridge and workers on the private node. Among 300 good ``rel-poison`` events
go four poison ones: two raise on every attempt (retried, then dead-lettered), one
raises PermanentError (dead-lettered at once), one kills its own pool process
(the lost attempts are counted; dead-lettered as HandlerLost). Among 40 good
``rel-hang`` events (timeout 1 s, hard timeout 2 s, two attempts) one hangs on
every attempt (the pool process is replaced twice, then dead letter) and one only
on its first (it succeeds on the second). Every good event is handled once, every
bad one ends in its function's dead-letter queue with the error, no worker dies.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from rel_functions import HANG, POISON
from rel_support import (
    Broker,
    Pipeline,
    Tally,
    alive,
    depth,
    drain,
    event,
    records,
    report,
    tally,
    wait_handled,
)

from broker_bridge.config import Settings
from broker_bridge.publisher import Publisher
from worker_runtime.testing import wait_until

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(600)]

GOOD_POISON = 300
GOOD_HANG = 40
BAD = {"p-raise-1": "raise", "p-raise-2": "raise", "p-perm": "permanent", "p-crash": "crash"}


def _stream() -> list[dict[str, Any]]:
    events = [event(POISON, f"g{i}") for i in range(GOOD_POISON)]
    for n, (event_id, kind) in enumerate(BAD.items()):
        events.insert(40 + 60 * n, event(POISON, event_id, poison=kind))
    hang = [event(HANG, f"hg{i}") for i in range(GOOD_HANG)]
    hang.insert(10, event(HANG, "h-always", hang="always"))
    hang.insert(25, event(HANG, "h-once", hang="once"))
    # interleave the two streams
    out: list[dict[str, Any]] = []
    while events or hang:
        out.extend(events[:8])
        del events[:8]
        out.extend(hang[:1])
        del hang[:1]
    return out


def _letters(url: str, function: str) -> dict[str, dict[str, Any]]:
    out = {}
    for message in drain(url, f"eventfn.fn.{function}.dlq"):
        body = json.loads(message.body)
        out[body["id"]] = {"event": body, **dict(message.headers or {})}
    return out


def test_poison_events_are_dead_lettered_and_hung_handlers_replaced(
    rel_broker: Broker, tmp_path: Path
) -> None:
    pipe = Pipeline(tmp_path, rel_broker.vhost())
    stream = _stream()
    try:
        pipe.start("bridge", name="bridge")
        workers = [
            pipe.worker("rel-poison", "-c", "2", name="poison"),
            pipe.worker("rel-hang", "-c", "2", name="hang"),
        ]
        with Publisher(pipe.url, settings=Settings(broker_url=pipe.url)) as publisher:
            publisher.publish_many(stream)
        good = {
            "rel-poison": {f"g{i}" for i in range(GOOD_POISON)},
            "rel-hang": {f"hg{i}" for i in range(GOOD_HANG)} | {"h-once"},
        }
        wait_handled(pipe.record_file, good, timeout=300)
        wait_until(
            lambda: (
                depth(pipe.url, "eventfn.fn.rel-poison.dlq") >= len(BAD)
                and depth(pipe.url, "eventfn.fn.rel-hang.dlq") >= 1
            ),
            timeout=300,
            interval=0.5,
            message="the poison and hanging events in the dead-letter queues",
        )
        rel_broker.wait_quiet(pipe.url, timeout=300)
        assert all(alive(w) for w in workers), "a worker died"
    finally:
        pipe.close()

    rows = records(pipe.record_file)
    done = [r["id"] for r in rows if r["phase"] == "done"]
    calls = Counter((r["fn"], r["id"]) for r in rows)
    poison_letters = _letters(pipe.url, "rel-poison")
    hang_letters = _letters(pipe.url, "rel-hang")

    # the good ones: each handled exactly once, none dead-lettered
    for function, ids in good.items():
        result = tally(
            f"poison-{function}",
            function,
            ids,
            [r["id"] for r in rows if r["fn"] == function and r["phase"] == "done"],
        )
        assert result.lost == 0
        assert result.duplicated == 0, "a good event ran twice"
    assert sorted(Counter(done).values()) == [1] * len(done), "a good event ran twice"
    assert set(poison_letters) == set(BAD)
    assert set(hang_letters) == {"h-always"}

    # poison that raises: every allowed attempt made, then the dead letter says why
    for event_id in ("p-raise-1", "p-raise-2"):
        letter = poison_letters[event_id]
        assert calls["rel-poison", event_id] == 3
        assert letter["eventfnerrortype"] == "builtins.ValueError"
        assert "field 'sku' is not a number" in letter["eventfnerror"]
        assert letter["eventfnattempts"] == 3
        assert "ValueError" in letter["eventfntraceback"]
        assert letter["event"]["data"] == {"id": event_id, "poison": "raise"}, "body changed"
    letter = poison_letters["p-perm"]
    assert calls["rel-poison", "p-perm"] == 1, "a PermanentError is not retried"
    assert letter["eventfnerrortype"] == "worker_runtime.errors.PermanentError"
    assert letter["eventfnattempts"] == 1
    # poison that kills its process: each lost attempt counted, then HandlerLost
    letter = poison_letters["p-crash"]
    assert letter["eventfnerrortype"].endswith("HandlerLost")
    assert letter["eventfnattempts"] == 3
    # three runs; a fourth only if the loaded machine delayed the attempt marker (written
    # 50 ms into a run) past the crash 200 ms in: that first crash is then not counted
    assert 3 <= calls["rel-poison", "p-crash"] <= 4

    # a handler hanging on every attempt: hard-killed twice, then dead-lettered
    hung = [r for r in rows if r["id"] == "h-always"]
    assert [(r["phase"], r["attempt"]) for r in hung] == [("hang", 1), ("hang", 2)]
    assert hung[0]["pid"] != hung[1]["pid"], "the hung pool process was not replaced"
    letter = hang_letters["h-always"]
    assert letter["eventfnerrortype"].endswith("HandlerLost")
    assert letter["eventfnattempts"] == 2
    # hanging only once: replaced, redelivered as attempt 2, which succeeds
    once = [r for r in rows if r["id"] == "h-once"]
    assert [(r["phase"], r["attempt"]) for r in once] == [("hang", 1), ("done", 2)]
    assert once[0]["pid"] != once[1]["pid"]

    report(
        Tally(
            "poison",
            "rel-poison+rel-hang",
            accepted=len(stream),
            handled=len(set(done)),
            lost=len(stream) - len(set(done)) - len(poison_letters) - len(hang_letters),
            duplicated=len(done) - len(set(done)),
        ),
        dead_lettered=sorted([*poison_letters, *hang_letters]),
    )
    pipe.assert_secret_never_logged()
