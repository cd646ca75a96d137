"""Embedded broker choice: our SQLite transport vs kombu's filesystem transport.

    python bench/bench_embedded.py --messages 5000

Publishes N messages, then consumes and acks them, on each transport, in one run;
prints msgs/s for both phases, the ratio, and one JSON line. Both are durable on
disk; only the SQLite one keeps unacked messages across a consumer crash.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kombu import Connection, Consumer, Producer, Queue

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from broker_bridge.transport import sqlite


def run(conn_factory: Any, n: int) -> tuple[float, float]:
    queue = Queue("bench", exchange="", routing_key="bench", durable=True)
    body = b'{"specversion":"1.0","id":"x","source":"/b","type":"t","data":{"i":1}}'
    with conn_factory() as conn:
        producer = Producer(conn.default_channel)
        t0 = time.perf_counter()
        for _ in range(n):
            producer.publish(
                body,
                exchange="",
                routing_key="bench",
                declare=[queue],
                content_type="application/cloudevents+json",
                content_encoding="utf-8",
            )
        publish = n / (time.perf_counter() - t0)
    got = 0
    with conn_factory() as conn:

        def on(message: Any) -> None:
            nonlocal got
            got += 1
            message.ack()

        with Consumer(conn, [queue], on_message=on, prefetch_count=100):
            t0 = time.perf_counter()
            while got < n:
                conn.drain_events(timeout=10)
            consume = n / (time.perf_counter() - t0)
    return publish, consume


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=5000)
    args = parser.parse_args()
    sqlite.register()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "broker.db"
        folder = Path(tmp) / "fs"
        for sub in ("out", "processed"):
            (folder / sub).mkdir(parents=True)
        results = {
            "sqlite": run(
                lambda: Connection(
                    f"sqlite://localhost/{db}", transport_options={"polling_interval": 0.01}
                ),
                args.messages,
            ),
            "filesystem": run(
                lambda: Connection(
                    "filesystem://",
                    transport_options={
                        "data_folder_in": str(folder / "out"),
                        "data_folder_out": str(folder / "out"),
                        "processed_folder": str(folder / "processed"),
                        "polling_interval": 0.01,
                    },
                ),
                args.messages,
            ),
        }
    print(f"{'transport':<11} {'publish/s':>10} {'consume+ack/s':>14}")
    for name, (pub, con) in results.items():
        print(f"{name:<11} {pub:>10.0f} {con:>14.0f}")
    s, f = results["sqlite"], results["filesystem"]
    out = {
        "bench": "embedded",
        "messages": args.messages,
        "sqlite": {"publish": round(s[0]), "consume": round(s[1])},
        "filesystem": {"publish": round(f[0]), "consume": round(f[1])},
        "ratio_publish": round(s[0] / f[0], 2),
        "ratio_consume": round(s[1] / f[1], 2),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
