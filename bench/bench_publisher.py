"""Publisher throughput: eventfn's Publisher vs bare kombu publish loops, one broker, one run.

    python bench/bench_publisher.py --events 20000            # a private RabbitMQ node
    python bench/bench_publisher.py --url amqp://guest:guest@127.0.0.1:5672//

Baselines (same event body, durable queue, persistent messages):

* ``kombu-confirm-each``: kombu ``Producer.publish`` on a connection with
  ``confirm_publish`` (py-amqp waits for the broker's ack after every message);
* ``kombu-no-confirm``: the same loop without confirms (nothing is guaranteed).

eventfn: ``publish_many`` (the whole batch pipelined, one wait for the confirms),
``publish_many`` in chunks of 100, and ``publish`` one at a time (p50/p99 latency).
Targets: publish_many >= 3x kombu-confirm-each; single publish p50 <= 1 ms.
Without ``--url`` the run starts a private RabbitMQ node (root; see
tests/support/rabbitmq_node.py) so no shared queue gets benchmark traffic.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from kombu import Connection, Producer, Queue  # noqa: E402

from broker_bridge.config import Settings  # noqa: E402
from broker_bridge.event import new_event  # noqa: E402
from broker_bridge.formats.json import to_json  # noqa: E402
from broker_bridge.logs import configure_logging  # noqa: E402
from broker_bridge.publisher import Publisher  # noqa: E402


@contextlib.contextmanager
def broker(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from support.rabbitmq_node import RabbitMQNode

    with RabbitMQNode() as node:
        yield node.url


def events(n: int, tag: str) -> list[dict[str, Any]]:
    return [
        {"type": "com.example.bench", "source": "/bench", "id": f"{tag}-{i}", "data": {"i": i}}
        for i in range(n)
    ]


def kombu_loop(url: str, n: int, *, confirm: bool) -> float:
    """Events/s of a bare kombu publish loop to a durable queue."""
    name = f"bench.kombu.{'confirm' if confirm else 'plain'}"
    queue = Queue(name, exchange="", routing_key=name, durable=True)
    body = to_json(
        new_event({"type": "com.example.bench", "source": "/bench", "id": "x"}, {"i": 1})
    )
    options = {"confirm_publish": True} if confirm else {}
    with Connection(url, transport_options=options) as conn:
        producer = Producer(conn.channel())
        queue(producer.channel).declare()
        started = time.perf_counter()
        for _ in range(n):
            producer.publish(
                body,
                exchange="",
                routing_key=name,
                content_type="application/cloudevents+json",
                content_encoding="utf-8",
                delivery_mode=2,
            )
        if not confirm:  # make sure everything was at least written to the socket
            producer.channel.basic_qos(0, 1, False)
        elapsed = time.perf_counter() - started
        producer.channel.queue_delete(name)
    return n / elapsed


def purge(url: str) -> None:
    with Connection(url) as conn, contextlib.suppress(Exception):
        conn.channel().queue_purge("eventfn.bridge")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--singles", type=int, default=2_000)
    parser.add_argument("--url", default=None, help="AMQP URL (default: a private node)")
    args = parser.parse_args()
    configure_logging("console", "WARNING", force=True)
    n = args.events
    with broker(args.url) as url:
        settings = Settings(broker_url=url)
        results: dict[str, Any] = {"events": n}
        results["kombu_confirm_each_eps"] = kombu_loop(url, max(n // 4, 1000), confirm=True)
        results["kombu_no_confirm_eps"] = kombu_loop(url, n, confirm=False)
        with Publisher(url, settings=settings) as publisher:
            publisher.publish_many(events(100, "warm"))
            batch = events(n, "many")
            started = time.perf_counter()
            publisher.publish_many(batch)
            results["publish_many_eps"] = n / (time.perf_counter() - started)
            purge(url)
            chunked = events(n, "chunk")
            started = time.perf_counter()
            for i in range(0, n, 100):
                publisher.publish_many(chunked[i : i + 100])
            results["publish_many_100_eps"] = n / (time.perf_counter() - started)
            purge(url)
            latencies = []
            for event in events(args.singles, "one"):
                t0 = time.perf_counter()
                publisher.publish(event)
                latencies.append(time.perf_counter() - t0)
            results["publish_p50_ms"] = statistics.median(latencies) * 1000
            results["publish_p99_ms"] = statistics.quantiles(latencies, n=100)[98] * 1000
            results["publish_eps"] = len(latencies) / sum(latencies)
            purge(url)
    base = results["kombu_confirm_each_eps"]
    results["publish_many_vs_confirm_each"] = results["publish_many_eps"] / base
    results["publish_many_100_vs_confirm_each"] = results["publish_many_100_eps"] / base
    print(f"{'measure':<34}{'value':>12}")
    for key, value in results.items():
        print(f"{key:<34}{value:>12.2f}" if isinstance(value, float) else f"{key:<34}{value:>12}")
    print(
        f"targets: publish_many >= 3x confirm-each: "
        f"{'PASS' if results['publish_many_vs_confirm_each'] >= 3 else 'FAIL'}; "
        f"single publish p50 <= 1 ms: {'PASS' if results['publish_p50_ms'] <= 1 else 'FAIL'}"
    )
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in results.items()}))


if __name__ == "__main__":
    main()
