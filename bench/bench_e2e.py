"""End-to-end events/s: publish -> handler done, eventfn vs plain Celery, same broker.

    python bench/bench_e2e.py --broker amqp://guest:guest@127.0.0.1:5672// --events 5000

Both pipelines run as real processes on the same broker with the same pool
(prefork, --concurrency), their handlers doing the same work (append one byte to
a file); the clock runs from the first publish to the last handler call. eventfn
pays an extra hop (publisher -> bridge -> function queue). Prints a table and one
JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("EVENTFN_LOG_LEVEL", "WARNING")

from broker_bridge.config import Settings  # noqa: E402
from broker_bridge.logs import configure_logging  # noqa: E402
from broker_bridge.publisher import Publisher  # noqa: E402
from broker_bridge.transport import sqlite  # noqa: E402

EVENTFN = [sys.executable, "-c", "from broker_bridge.cli import main; main()"]


def wait_count(path: Path, n: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size >= n:
            return time.perf_counter()
        time.sleep(0.005)
    raise SystemExit(f"timed out: {path.stat().st_size if path.exists() else 0}/{n} handled")


def wait_log(path: Path, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise SystemExit(f"{text!r} not seen in {path}:\n{path.read_text()[-2000:]}")


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True
        )


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def purge(url: str, queues: list[str]) -> None:
    from kombu import Connection

    with Connection(url) as conn:
        for q in queues:
            ch = conn.channel()
            try:
                ch.queue_purge(q)
            except Exception:
                pass
            finally:
                ch.close()


def run_eventfn(url: str, events: int, concurrency: int, tmp: Path) -> float:
    counter = tmp / f"eventfn-{time.time_ns()}.count"
    env = {
        **os.environ,
        "EVENTFN_BROKER_URL": url,
        "EVENTFN_BENCH_COUNTER": str(counter),
        "EVENTFN_LOG_LEVEL": "WARNING",
        "EVENTFN_LOG_FORMAT": "json",
        "PYTHONPATH": str(REPO),
    }
    fns = "bench/noop_functions.py"
    purge(url, ["eventfn.bridge", "eventfn.fn.noop"])
    envi = {**env, "EVENTFN_LOG_LEVEL": "INFO"}
    bridge = start([*EVENTFN, "bridge", "--functions", fns], envi, tmp / "bridge.log")
    worker = start(
        [*EVENTFN, "worker", "noop", "--functions", fns, "-c", str(concurrency)],
        envi,
        tmp / "worker.log",
    )
    try:
        wait_log(tmp / "bridge.log", "bridge consuming")
        wait_log(tmp / "worker.log", "ready.")
        batch = [
            {"type": "bench.noop", "source": "/bench", "data": {"i": i}} for i in range(events)
        ]
        with Publisher(url, settings=Settings(broker_url=url)) as pub:
            pub.publish({"type": "bench.noop", "source": "/bench", "data": {"warm": 1}})
            wait_count(counter, 1, 60)
            base = counter.stat().st_size
            t0 = time.perf_counter()
            pub.publish_many(batch)
        t1 = wait_count(counter, base + events, 600)
        return events / (t1 - t0)
    finally:
        stop([bridge, worker])


def run_celery(url: str, events: int, concurrency: int, tmp: Path) -> float:
    counter = tmp / f"celery-{time.time_ns()}.count"
    env = {
        **os.environ,
        "BENCH_BROKER_URL": url,
        "EVENTFN_BENCH_COUNTER": str(counter),
        "PYTHONPATH": str(REPO),
    }
    purge(url, ["celery"])
    worker = start(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bench.plain_celery_app",
            "worker",
            "-c",
            str(concurrency),
            "--without-gossip",
            "--without-mingle",
            "-l",
            "INFO",
        ],
        env,
        tmp / "celery.log",
    )
    try:
        wait_log(tmp / "celery.log", "ready.")
        os.environ["BENCH_BROKER_URL"] = url
        os.environ["EVENTFN_BENCH_COUNTER"] = os.devnull
        from bench.plain_celery_app import app, noop

        noop.delay({"warm": 1})
        wait_count(counter, 1, 60)
        base = counter.stat().st_size
        t0 = time.perf_counter()
        with app.producer_or_acquire() as producer:
            for i in range(events):
                noop.apply_async(({"i": i},), producer=producer)
        t1 = wait_count(counter, base + events, 600)
        return events / (t1 - t0)
    finally:
        stop([worker])


def main() -> None:
    configure_logging("console", "WARNING", force=True)  # no per-batch debug lines
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--broker",
        action="append",
        help="broker URL (repeatable); default: RabbitMQ, Redis, embedded",
    )
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    sqlite.register()
    results = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(os.environ.get("BENCH_TMP", tmpdir))
        brokers = args.broker or [
            "amqp://guest:guest@127.0.0.1:5672//",
            "redis://127.0.0.1:6379/0",
            f"sqlite://localhost/{tmp / 'broker.db'}",
        ]
        for url in brokers:
            ours = run_eventfn(url, args.events, args.concurrency, tmp)
            if url.startswith("sqlite"):
                plain = float("nan")
            else:
                plain = run_celery(url, args.events, args.concurrency, tmp)
            results.append(
                {
                    "broker": url.split(":")[0],
                    "events": args.events,
                    "eventfn_eps": round(ours, 1),
                    "celery_eps": round(plain, 1),
                    "ratio": None if math.isnan(plain) else round(ours / plain, 3),
                }
            )
    print(f"{'broker':<8} {'events':>7} {'eventfn ev/s':>13} {'celery ev/s':>12} {'ratio':>6}")
    for r in results:
        row = (r["broker"], r["events"], r["eventfn_eps"], r["celery_eps"], str(r["ratio"]))
        print(f"{row[0]:<8} {row[1]:>7} {row[2]:>13} {row[3]:>12} {row[4]:>6}")
    print(json.dumps({"bench": "e2e", "concurrency": args.concurrency, "results": results}))


if __name__ == "__main__":
    main()
