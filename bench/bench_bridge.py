"""Bridge throughput vs a bare kombu consume-and-republish loop, same broker, one run.

    python bench/bench_bridge.py --broker amqp://guest:guest@127.0.0.1:5672// --events 20000

Each variant gets ``--events`` events preloaded on its input queue, then moves them
to an output queue; the clock runs from the start of the move until the output
queue holds them all. Variants:

* ``bridge``: a real ``eventfn bridge`` process (batches, pipelined confirms, ack
  after), routing to one function (one Celery task message per event);
* ``kombu, confirm each``: consume (prefetch 256), republish with a publisher
  confirm per message (kombu's ``confirm_publish``), ack each: the naive safe loop;
* ``kombu, no confirms``: the same without confirms: fast, but unsafe (an event
  acked before the broker has its copy can be lost); the ceiling.

Targets (issue 4): bridge >= 2x the confirm-each loop, >= 0.5x the no-confirm loop.
Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("EVENTFN_LOG_LEVEL", "WARNING")

from kombu import Connection, Consumer, Producer, Queue  # noqa: E402

from broker_bridge.config import Settings  # noqa: E402
from broker_bridge.logs import configure_logging  # noqa: E402
from broker_bridge.publisher import Publisher  # noqa: E402
from broker_bridge.transport import sqlite  # noqa: E402

EVENTFN = [sys.executable, "-c", "from broker_bridge.cli import main; main()"]
FUNCTIONS = str(REPO / "bench" / "noop_functions.py")


def queue(name: str) -> Queue:
    return Queue(name, exchange="", routing_key=name, durable=True)


def depth(url: str, name: str) -> int:
    with Connection(url) as conn:
        channel = conn.channel()
        try:
            return int(channel.queue_declare(name, passive=True).message_count)
        except Exception:
            return 0


def purge(url: str, *names: str) -> None:
    with Connection(url) as conn:
        for name in names:
            channel = conn.channel()
            queue(name)(channel).declare()
            channel.queue_purge(name)
            channel.close()


def preload(url: str, name: str, events: int) -> None:
    """Put ``events`` CloudEvents on ``name`` in the publisher's wire format."""
    batch = [
        {"type": "bench.noop", "source": "/bench", "id": f"e{i}", "data": {"i": i}}
        for i in range(events)
    ]
    with Publisher(url, settings=Settings(broker_url=url)) as publisher:
        if name == "eventfn.bridge":
            for start in range(0, events, 5000):
                publisher.publish_many(batch[start : start + 5000])
            return
    # a plain queue for the kombu loops: same bodies, published with confirms
    from broker_bridge.event import new_event
    from broker_bridge.formats.json import to_json

    with Connection(url, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.channel())
        for attrs in batch:
            data = attrs.pop("data")
            producer.publish(
                to_json(new_event(attrs, data)),
                exchange="",
                routing_key=name,
                declare=[queue(name)],
                content_type="application/cloudevents+json",
                content_encoding="utf-8",
                delivery_mode=2,
            )


def wait_depth(url: str, name: str, n: int, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if depth(url, name) >= n:
            return time.perf_counter()
        time.sleep(0.02)
    raise SystemExit(f"timed out waiting for {n} messages on {name}")


def run_bridge(url: str, events: int, tmp: Path) -> float:
    purge(url, "eventfn.bridge", "eventfn.fn.noop", "eventfn.activate")
    preload(url, "eventfn.bridge", events)
    env = {**os.environ, "EVENTFN_BROKER_URL": url, "EVENTFN_LOG_LEVEL": "INFO"}
    log = tmp / "bridge.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*EVENTFN, "bridge", "--functions", FUNCTIONS],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    try:
        # the clock starts at the first routed message (the bridge's start-up excluded)
        started = _first_output(url, "eventfn.fn.noop")
        t1 = wait_depth(url, "eventfn.fn.noop", events)
        return (events - 1) / (t1 - started)
    finally:
        proc.terminate()
        proc.wait(30)
        purge(url, "eventfn.bridge", "eventfn.fn.noop", "eventfn.activate")


def _first_output(url: str, name: str, timeout: float = 60) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if depth(url, name) >= 1:
            return time.perf_counter()
        time.sleep(0.005)
    raise SystemExit(f"nothing arrived on {name}")


def run_kombu_loop(url: str, events: int, *, confirm: bool) -> float:
    source, target = "bench.loop.in", "bench.loop.out"
    purge(url, source, target)
    preload(url, source, events)
    options = {"confirm_publish": True} if confirm else {}
    moved = 0
    with (
        Connection(url) as consume_conn,
        Connection(url, transport_options=options) as publish_conn,
    ):
        producer = Producer(publish_conn.channel())
        out = queue(target)

        def on_message(message: object) -> None:
            nonlocal moved
            producer.publish(
                message.body,  # type: ignore[attr-defined]
                exchange="",
                routing_key=target,
                declare=[out],
                content_type=message.content_type,  # type: ignore[attr-defined]
                content_encoding=message.content_encoding,  # type: ignore[attr-defined]
                delivery_mode=2,
            )
            message.ack()  # type: ignore[attr-defined]
            moved += 1

        consumer = Consumer(
            consume_conn.channel(),
            queues=[queue(source)],
            on_message=on_message,
            prefetch_count=256,
            accept=None,
        )
        consumer.consume()
        t0 = time.perf_counter()
        while moved < events:
            consume_conn.drain_events(timeout=10)
        t1 = time.perf_counter()
        consumer.cancel()
    purge(url, source, target)
    return events / (t1 - t0)


def main() -> None:
    configure_logging("console", "WARNING", force=True)  # no per-batch debug lines
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672//")
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--confirm-events", type=int, default=5000)
    args = parser.parse_args()
    sqlite.register()
    url = args.broker
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        bridge = run_bridge(url, args.events, tmp)
        no_confirm = run_kombu_loop(url, args.events, confirm=False)
        confirm_each = run_kombu_loop(url, args.confirm_events, confirm=True)
    rows = [
        ("eventfn bridge", bridge),
        ("kombu loop, confirm each", confirm_each),
        ("kombu loop, no confirms", no_confirm),
    ]
    print(f"{'variant':<28} {'events/s':>10}")
    for name, rate in rows:
        print(f"{name:<28} {rate:>10.0f}")
    vs_confirm = bridge / confirm_each
    vs_plain = bridge / no_confirm
    print(f"bridge / confirm-each loop: {vs_confirm:.2f}x (target >= 2.0)")
    print(f"bridge / no-confirm loop:   {vs_plain:.2f}x (target >= 0.5)")
    print(
        json.dumps(
            {
                "bench": "bridge",
                "broker": url.split(":")[0],
                "events": args.events,
                "bridge_eps": round(bridge, 1),
                "kombu_confirm_each_eps": round(confirm_each, 1),
                "kombu_no_confirm_eps": round(no_confirm, 1),
                "ratio_vs_confirm_each": round(vs_confirm, 3),
                "ratio_vs_no_confirm": round(vs_plain, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
