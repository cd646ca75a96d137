"""Handler throughput: eventfn's execution path vs a bare Celery task, same broker and pool.

    python bench/bench_worker.py --broker amqp://guest:guest@127.0.0.1:5672// \
        --events 3000 --pool solo

Each variant gets ``--events`` messages preloaded on its queue (eventfn: task messages
as the bridge builds them; Celery: ``send_task``), then one worker process starts
and the clock runs from its first handler call to its last; both handlers append
one byte to a file. Variants: eventfn with the hub wake-up (the default), eventfn
without it (``EVENTFN_HUB_WAKEUP_INTERVAL=0``), bare Celery (prefetch multiplier 1,
acks_late, JSON, like eventfn), bare Celery with prefetch multiplier 4, and bare
Celery plus the wake-up bootstep. Also reports the longest pause between two
consecutive handler calls (the acks_late stall, celery/celery#7718). Prints a
table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kombu import Connection, Queue  # noqa: E402

from broker_bridge.event import new_event  # noqa: E402
from broker_bridge.formats.json import to_json  # noqa: E402
from broker_bridge.taskmessage import build_task_message  # noqa: E402
from broker_bridge.transport import sqlite  # noqa: E402

EVENTFN = [sys.executable, "-c", "from broker_bridge.cli import main; main()"]


def purge(url: str, queue: str) -> None:
    with Connection(url) as conn:
        ch = conn.channel()
        try:
            ch.queue_purge(queue)
        except Exception:
            pass
        finally:
            ch.close()


def preload_eventfn(url: str, events: int) -> None:
    name = "eventfn.fn.noop"
    queue = Queue(name, exchange="", routing_key=name, durable=True)
    with Connection(url) as conn:
        producer = conn.Producer()
        for i in range(events):
            body = to_json(
                new_event({"type": "bench.noop", "source": "/bench", "id": f"b{i}"}, {"i": i})
            ).decode()
            task = build_task_message("noop", body, "/bench", f"b{i}")
            producer.publish(
                task.body,
                exchange="",
                routing_key=name,
                declare=[queue],
                headers=task.headers,
                content_type=task.content_type,
                content_encoding=task.content_encoding,
                **task.properties,
            )


def preload_celery(url: str, events: int) -> None:
    os.environ["BENCH_BROKER_URL"] = url
    from bench.plain_celery_app import app

    with app.producer_or_acquire() as producer:
        for i in range(events):
            app.send_task("plain.noop", args=[{"i": i}], producer=producer, queue="celery")


def watch(counter: Path, events: int, timeout: float) -> tuple[float, float]:
    """(seconds from first to last call, longest pause between calls) by polling."""
    deadline = time.monotonic() + timeout
    first = last_change = None
    size = 0
    longest = 0.0
    while time.monotonic() < deadline:
        now = time.perf_counter()
        current = counter.stat().st_size if counter.exists() else 0
        if current != size:
            if first is None:
                first = now
            elif last_change is not None:
                longest = max(longest, now - last_change)
            last_change, size = now, current
            if size >= events:
                assert first is not None
                return now - first, longest
        time.sleep(0.0005)
    raise SystemExit(f"timed out: {size}/{events} handled")


def run(variant: str, url: str, events: int, pool: str, concurrency: int, tmp: Path) -> dict:
    counter = tmp / f"{variant}-{time.time_ns()}.count"
    env = {
        **os.environ,
        "EVENTFN_BROKER_URL": url,
        "BENCH_BROKER_URL": url,
        "BENCH_PREFETCH_MULTIPLIER": "1",
        "EVENTFN_BENCH_COUNTER": str(counter),
        "EVENTFN_LOG_LEVEL": "WARNING",
        "EVENTFN_STATE_DIR": str(tmp / "state"),
        "PYTHONPATH": str(REPO),
    }
    if variant == "eventfn-no-wakeup":
        env["EVENTFN_HUB_WAKEUP_INTERVAL"] = "0"
    if variant.startswith("celery"):
        app_ref = "bench.plain_celery_app"
        if variant == "celery-wakeup":
            app_ref = "bench.bench_worker:celery_wakeup_app"
        if variant == "celery-prefetch4":
            env["BENCH_PREFETCH_MULTIPLIER"] = "4"
        purge(url, "celery")
        preload_celery(url, events)
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            app_ref,
            "worker",
            "-P",
            pool,
            "-c",
            str(concurrency),
            "--without-gossip",
            "--without-mingle",
            "-Q",
            "celery",
            "-l",
            "WARNING",
        ]
    else:
        purge(url, "eventfn.fn.noop")
        preload_eventfn(url, events)
        cmd = [
            *EVENTFN,
            "worker",
            "noop",
            "--functions",
            "bench/noop_functions.py",
            "--pool",
            pool,
            "-c",
            str(concurrency),
        ]
    with (tmp / f"{variant}.log").open("wb") as log:
        proc = subprocess.Popen(
            cmd, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        elapsed, longest = watch(counter, events, 900)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    return {
        "variant": variant,
        "events_per_s": round((events - 1) / elapsed, 1),
        "longest_pause_s": round(longest, 3),
    }


def __getattr__(name: str) -> object:
    """``celery_wakeup_app``: the bare Celery app plus eventfn's hub wake-up bootstep."""
    if name != "celery_wakeup_app":
        raise AttributeError(name)
    from bench.plain_celery_app import app
    from worker_runtime.hub import HubWakeup

    app.conf.eventfn_hub_wakeup_interval = 0.005
    app.steps["worker"].add(HubWakeup)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672//")
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--pool", default="solo", choices=["solo", "prefork", "threads"])
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument(
        "--variants",
        default="eventfn,eventfn-no-wakeup,celery,celery-prefetch4,celery-wakeup",
    )
    args = parser.parse_args()
    sqlite.register()
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp:
        rows = [
            run(v, args.broker, args.events, args.pool, args.concurrency, Path(tmp))
            for v in args.variants.split(",")
        ]
    by = {row["variant"]: row for row in rows}
    print(f"{'variant':<20}{'events/s':>12}{'longest pause (s)':>20}")
    for row in rows:
        print(f"{row['variant']:<20}{row['events_per_s']:>12}{row['longest_pause_s']:>20}")
    ratio = None
    if "eventfn" in by and "celery" in by:
        ratio = round(by["eventfn"]["events_per_s"] / by["celery"]["events_per_s"], 3)
        print(f"eventfn / bare Celery: {ratio}x")
    print(
        json.dumps(
            {
                "broker": args.broker.split(":")[0],
                "pool": args.pool,
                "concurrency": args.concurrency,
                "events": args.events,
                "results": rows,
                "ratio": ratio,
            }
        )
    )


if __name__ == "__main__":
    main()
