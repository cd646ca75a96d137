"""The whole-system benchmark: eventfn against its baselines, same broker, one run.

    python bench/harness.py                      # RabbitMQ and Redis on 127.0.0.1
    python bench/harness.py --quick              # fewer events, shorter RSS window

Everything runs as real processes on loopback: ``eventfn bridge`` and ``eventfn
worker`` (prefork, ``--concurrency``), stock ``celery worker`` with the same pool and
JSON/acks_late settings (the peer baseline), and a bare kombu consumer (the ceiling).
Handlers append one byte to a file; the clock runs from the first publish to the
last handler call. Measured per broker:

* ``e2e``: events/s for one subscription: eventfn, stock Celery, tuned Celery
  (prefetch multiplier 16), bare kombu publish+consume;
* ``fanout3``: eventfn delivering every event to 3 functions (3 workers) vs Celery
  sending 3 tasks per event to 3 workers; handler calls/s;
* ``subs1000``: eventfn with 1,000 subscriptions in the table vs 1 (ratio);
* ``latency``: publish -> handler start p50/p95/p99 at a light steady rate, eventfn
  vs stock Celery (the bridge's added latency);
* ``scale_from_zero``: first handler start after an event for a function at zero
  replicas (``bench/bench_scale_from_zero.py``, push activation), RabbitMQ only;
* ``rss``: resident memory of the bridge and the worker (its pool included) sampled
  every 5 s during a steady load of ``--rss-seconds``; growth after warm-up.

Prints a table of ratios against the targets of issue 9 and one JSON line.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("EVENTFN_LOG_LEVEL", "WARNING")

from bench.bench_e2e import purge, start, stop, wait_count, wait_log  # noqa: E402
from broker_bridge.config import Settings  # noqa: E402
from broker_bridge.logs import configure_logging  # noqa: E402
from broker_bridge.publisher import Publisher  # noqa: E402

EVENTFN = [sys.executable, "-c", "from broker_bridge.cli import main; main()"]
FUNCTIONS = "bench/noop_functions.py"
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"
REDIS = "redis://127.0.0.1:6379/14"

KOMBU_CONSUMER = """
import os, sys
from kombu import Connection, Consumer, Queue
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
q = Queue("bench.kombu", exchange="", routing_key="bench.kombu", durable=True)
options = {"socket_timeout": None} if sys.argv[1].startswith("redis") else {}
with Connection(sys.argv[1], transport_options=options) as conn:
    def on_message(message):
        os.write(fd, b".")
        message.ack()
    with Consumer(conn.channel(), [q], on_message=on_message, prefetch_count=64, accept=None):
        print("ready.", flush=True)
        while True:
            try:
                conn.drain_events(timeout=1)
            except TimeoutError:
                pass
"""


# -- the pipelines -------------------------------------------------------------------------
class Pipeline:
    """Processes that handle ``bench.noop`` events; ``publish(n)`` feeds them."""

    name = ""

    def __init__(self, url: str, tmp: Path, counter: Path, env: dict[str, str]) -> None:
        self.url, self.tmp, self.counter = url, tmp, counter
        self.env = {
            **os.environ,
            "EVENTFN_BENCH_COUNTER": str(counter),
            "PYTHONPATH": str(REPO),
            **env,
        }
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Pipeline:
        try:
            self.start()
        except BaseException:
            stop(self.procs)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        stop(self.procs)

    def start(self) -> None:
        raise NotImplementedError

    def publish(self, payloads: list[dict[str, float]]) -> None:
        raise NotImplementedError

    def pids(self) -> dict[str, int]:
        return {f"{self.name}-{i}": p.pid for i, p in enumerate(self.procs)}


class Eventfn(Pipeline):
    name = "eventfn"

    def __init__(self, *args: object, functions: list[str], concurrency: int, **kw: object):
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.functions, self.concurrency = functions, concurrency

    def start(self) -> None:
        purge(self.url, ["eventfn.bridge", "eventfn.activate"])
        purge(self.url, [f"eventfn.fn.{f}" for f in self.functions])
        env = {**self.env, "EVENTFN_BROKER_URL": self.url, "EVENTFN_LOG_LEVEL": "INFO"}
        logs = [self.tmp / f"bridge-{time.time_ns()}.log"]
        self.procs.append(start([*EVENTFN, "bridge", "--functions", FUNCTIONS], env, logs[0]))
        for function in self.functions:
            logs.append(self.tmp / f"worker-{function}-{time.time_ns()}.log")
            cmd = [*EVENTFN, "worker", function, "--functions", FUNCTIONS]
            self.procs.append(start([*cmd, "-c", str(self.concurrency)], env, logs[-1]))
        wait_log(logs[0], "bridge consuming")
        for log in logs[1:]:
            wait_log(log, "ready.")
        self.publisher = Publisher(self.url, settings=Settings(broker_url=self.url))

    def __exit__(self, *exc: object) -> None:
        self.publisher.close()
        super().__exit__(*exc)

    def publish(self, payloads: list[dict[str, float]]) -> None:
        events = [{"type": "bench.noop", "source": "/bench", "data": p} for p in payloads]
        if len(events) == 1:
            self.publisher.publish(events[0])
        else:
            self.publisher.publish_many(events)

    def pids(self) -> dict[str, int]:
        names = ["bridge", *(f"worker-{f}" for f in self.functions)]
        return {n: p.pid for n, p in zip(names, self.procs, strict=True)}


class Celery(Pipeline):
    name = "celery"

    def __init__(
        self, *args: object, queues: list[str], concurrency: int, prefetch: int, **kw: object
    ):
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.queues, self.concurrency, self.prefetch = queues, concurrency, prefetch

    def start(self) -> None:
        purge(self.url, self.queues)
        env = {
            **self.env,
            "BENCH_BROKER_URL": self.url,
            "BENCH_PREFETCH_MULTIPLIER": str(self.prefetch),
        }
        logs = []
        for queue in self.queues:
            logs.append(self.tmp / f"celery-{queue}-{time.time_ns()}.log")
            cmd = [sys.executable, "-m", "celery", "-A", "bench.plain_celery_app", "worker"]
            cmd += ["-c", str(self.concurrency), "-Q", queue, "-n", f"{queue}@%h"]
            cmd += ["--without-gossip"]
            cmd += ["--without-mingle", "-l", "INFO"]
            self.procs.append(start(cmd, env, logs[-1]))
        for log in logs:
            wait_log(log, "ready.")
        os.environ["BENCH_BROKER_URL"] = self.url
        import bench.plain_celery_app as plain

        if plain.app.conf.broker_url != self.url:  # the app is built from the env at import
            plain = importlib.reload(plain)
        self.app, self.task = plain.app, plain.noop

    def publish(self, payloads: list[dict[str, float]]) -> None:
        with self.app.producer_or_acquire() as producer:
            for payload in payloads:
                for queue in self.queues:
                    self.task.apply_async((payload,), producer=producer, queue=queue)


class Kombu(Pipeline):
    name = "kombu"

    def start(self) -> None:
        purge(self.url, ["bench.kombu"])
        log = self.tmp / f"kombu-{time.time_ns()}.log"
        cmd = [sys.executable, "-c", KOMBU_CONSUMER, self.url, str(self.counter)]
        self.procs.append(start(cmd, self.env, log))
        wait_log(log, "ready.")
        from kombu import Connection, Producer, Queue

        options = {"socket_timeout": None} if self.url.startswith("redis") else {}
        self.conn = Connection(self.url, transport_options=options)
        self.producer = Producer(self.conn.channel())
        self.queue = Queue("bench.kombu", exchange="", routing_key="bench.kombu", durable=True)

    def __exit__(self, *exc: object) -> None:
        self.conn.release()
        super().__exit__(*exc)

    def publish(self, payloads: list[dict[str, float]]) -> None:
        for payload in payloads:
            self.producer.publish(
                payload, exchange="", routing_key="bench.kombu", declare=[self.queue],
                serializer="json", delivery_mode=2,
            )  # fmt: skip


# -- measurements -----------------------------------------------------------------------------
def throughput(pipeline: Pipeline, events: int, per_event: int = 1) -> float:
    """Handler calls per second from first publish to last call (after a warm-up)."""
    pipeline.publish([{"warm": 1.0}])
    wait_count(pipeline.counter, per_event, 120)
    base = pipeline.counter.stat().st_size
    t0 = time.perf_counter()
    for chunk in range(0, events, 1000):
        pipeline.publish([{"i": float(i)} for i in range(chunk, min(events, chunk + 1000))])
    t1 = wait_count(pipeline.counter, base + events * per_event, 900)
    return events * per_event / (t1 - t0)


def latency(pipeline: Pipeline, latfile: Path, rate: float, seconds: float) -> dict[str, float]:
    pipeline.publish([{"warm": 1.0}])
    wait_count(pipeline.counter, 1, 120)
    base = pipeline.counter.stat().st_size
    latfile.write_text("")
    n = int(rate * seconds)
    t0 = time.perf_counter()
    for i in range(n):
        target = t0 + i / rate
        pause = target - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        pipeline.publish([{"t": time.time()}])
    wait_count(pipeline.counter, base + n, 300)
    values = sorted(float(x) * 1000 for x in latfile.read_text().split())
    return {
        "p50_ms": round(values[len(values) // 2], 3),
        "p95_ms": round(values[int(len(values) * 0.95)], 3),
        "p99_ms": round(values[int(len(values) * 0.99)], 3),
        "n": len(values),
    }


def rss_kib(pid: int) -> int:
    """RSS of ``pid`` and its descendants (a worker's pool processes), KiB."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(
                next(ln for ln in status.splitlines() if ln.startswith("VmRSS")).split()[1]
            )
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (OSError, StopIteration):
            continue
        todo.extend(int(c) for c in children)
    return total


def steady_rss(pipeline: Eventfn, seconds: float, rate: float) -> dict[str, dict[str, float]]:
    stop_load = threading.Event()

    def load() -> None:
        t0, i = time.perf_counter(), 0
        while not stop_load.is_set():
            batch = max(1, int(rate / 10))
            pipeline.publish([{"i": float(i + k)} for k in range(batch)])
            i += batch
            pause = t0 + i / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    samples: dict[str, list[int]] = {name: [] for name in pipeline.pids()}
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for name, pid in pipeline.pids().items():
                samples[name].append(rss_kib(pid))
            time.sleep(5)
    finally:
        stop_load.set()
        thread.join()
    out = {}
    for name, values in samples.items():
        warm = values[len(values) // 4 :] or values  # the first quarter is warm-up
        out[name] = {
            "after_warmup_mib": round(warm[0] / 1024, 1),
            "end_mib": round(warm[-1] / 1024, 1),
            "max_mib": round(max(warm) / 1024, 1),
            "growth_pct": round(100 * (warm[-1] - warm[0]) / warm[0], 1),
        }
    return out


def scale_from_zero(url: str) -> dict[str, float] | None:
    cmd = [sys.executable, str(REPO / "bench" / "bench_scale_from_zero.py"), "--broker", url]
    done = subprocess.run(
        [*cmd, "--trials", "3"], capture_output=True, text=True, cwd=REPO, check=False
    )
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)  # type: ignore[no-any-return]
    print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
    return None


# -- the run --------------------------------------------------------------------------------
def run_broker(url: str, args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    results: dict[str, object] = {"broker": url.split(":", maxsplit=1)[0]}
    n, c = args.events, args.concurrency

    def counter() -> Path:
        return tmp / f"count-{time.time_ns()}"

    def measure(label: str, make: Callable[[], Pipeline], per_event: int = 1) -> float:
        with make() as pipeline:
            value = throughput(pipeline, n, per_event)
        print(f"  {results['broker']:<6} {label:<28} {value:>9.0f} handler calls/s", flush=True)
        return value

    ours = measure("eventfn", lambda: Eventfn(url, tmp, counter(), {}, functions=["noop"],
                                              concurrency=c))  # fmt: skip
    celery = measure("celery (stock)", lambda: Celery(url, tmp, counter(), {}, queues=["celery"],
                                                      concurrency=c, prefetch=4))  # fmt: skip
    tuned = measure("celery (prefetch x16)", lambda: Celery(url, tmp, counter(), {},
                    queues=["celery"], concurrency=c, prefetch=16))  # fmt: skip
    ceiling = measure("bare kombu", lambda: Kombu(url, tmp, counter(), {}))
    results["e2e"] = {
        "eventfn": round(ours, 1), "celery": round(celery, 1), "celery_tuned": round(tuned, 1),
        "kombu": round(ceiling, 1), "ratio_vs_celery": round(ours / celery, 3),
        "ratio_vs_celery_tuned": round(ours / tuned, 3), "ratio_vs_kombu": round(ours / ceiling, 3),
    }  # fmt: skip

    fan_env = {"EVENTFN_BENCH_FANOUT": "1"}
    fan = measure("eventfn fan-out 3", lambda: Eventfn(url, tmp, counter(), fan_env,
                  functions=["noop", "noop-b", "noop-c"], concurrency=1), 3)  # fmt: skip
    fan_celery = measure("celery 3 tasks/event", lambda: Celery(url, tmp, counter(), {},
                         queues=["q1", "q2", "q3"], concurrency=1, prefetch=4), 3)  # fmt: skip
    results["fanout3"] = {
        "eventfn": round(fan, 1), "celery": round(fan_celery, 1),
        "ratio_vs_celery": round(fan / fan_celery, 3),
    }  # fmt: skip

    many_env = {"EVENTFN_BENCH_EXTRA_SUBSCRIPTIONS": "999"}
    many = measure("eventfn 1,000 subscriptions", lambda: Eventfn(url, tmp, counter(), many_env,
                   functions=["noop"], concurrency=c))  # fmt: skip
    results["subs1000"] = {"eventfn_1": round(ours, 1), "eventfn_1000": round(many, 1),
                           "ratio": round(many / ours, 3)}  # fmt: skip

    lat: dict[str, dict[str, float]] = {}
    for label, make in (
        ("eventfn", lambda lf: Eventfn(url, tmp, counter(), {"EVENTFN_BENCH_LATENCY": str(lf)},
                                       functions=["noop"], concurrency=c)),
        ("celery", lambda lf: Celery(url, tmp, counter(), {"EVENTFN_BENCH_LATENCY": str(lf)},
                                     queues=["celery"], concurrency=c, prefetch=4)),
    ):  # fmt: skip
        latfile = tmp / f"lat-{label}-{time.time_ns()}"
        with make(latfile) as pipeline:
            lat[label] = latency(pipeline, latfile, args.rate, args.latency_seconds)
        print(f"  {results['broker']:<6} latency {label:<20} {lat[label]}", flush=True)
    lat["added_p50_ms"] = {"value": round(lat["eventfn"]["p50_ms"] - lat["celery"]["p50_ms"], 3)}
    results["latency"] = lat

    if url.startswith("amqp") and args.rss_seconds > 0:
        with Eventfn(url, tmp, counter(), {}, functions=["noop"], concurrency=c) as pipeline:
            results["rss"] = steady_rss(pipeline, args.rss_seconds, args.rss_rate)
        print(f"  {results['broker']:<6} rss {results['rss']}", flush=True)
        results["scale_from_zero"] = scale_from_zero(url)
        print(f"  {results['broker']:<6} scale from zero {results['scale_from_zero']}", flush=True)
    return results


def table(all_results: list[dict[str, object]]) -> None:
    print()
    print(f"{'broker':<7} {'measure':<34} {'value':>10} {'target':>12} {'met':>4}")

    def row(broker: str, what: str, value: float, target: str, met: bool) -> None:
        print(f"{broker:<7} {what:<34} {value:>10} {target:>12} {'yes' if met else 'NO':>4}")

    for r in all_results:
        b = str(r["broker"])
        e2e, fan, subs, lat = r["e2e"], r["fanout3"], r["subs1000"], r["latency"]
        for part in (e2e, fan, subs, lat):
            if not isinstance(part, dict):
                raise TypeError(part)
        row(
            b, "e2e vs stock celery", e2e["ratio_vs_celery"], ">= 1.0x", e2e["ratio_vs_celery"] >= 1
        )
        row(b, "e2e vs tuned celery", e2e["ratio_vs_celery_tuned"], "(report)", True)
        row(b, "e2e vs bare kombu (ceiling)", e2e["ratio_vs_kombu"], "(report)", True)
        row(
            b,
            "fan-out 3 vs celery 3 tasks",
            fan["ratio_vs_celery"],
            ">= 1.0x",
            fan["ratio_vs_celery"] >= 1,
        )
        row(b, "1,000 subscriptions vs 1", subs["ratio"], ">= 0.9x", subs["ratio"] >= 0.9)
        added = lat["added_p50_ms"]["value"]
        row(b, "added p50 latency (ms)", added, "<= 2 ms", added <= 2)
        rss = r.get("rss")
        if isinstance(rss, dict):
            for name, values in rss.items():
                growth = values["growth_pct"]
                row(b, f"RSS growth {name} (%)", growth, "<= 10%", abs(growth) <= 10)
        sfz = r.get("scale_from_zero")
        if isinstance(sfz, dict):
            print(f"{b:<7} {'scale from zero':<34} {json.dumps(sfz)[:120]}")  # fmt: skip


def main() -> None:
    configure_logging("console", "WARNING", force=True)  # no per-batch debug lines
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--broker", action="append", help="repeatable; default RabbitMQ, Redis")
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--rate", type=float, default=50.0, help="latency run, events/s")
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--rss-seconds", type=float, default=60.0)
    parser.add_argument("--rss-rate", type=float, default=300.0)
    parser.add_argument("--quick", action="store_true", help="2,000 events, 20 s RSS window")
    args = parser.parse_args()
    if args.quick:
        args.events, args.rss_seconds, args.latency_seconds = 2000, 20.0, 5.0
    started = time.monotonic()
    results = []
    with tempfile.TemporaryDirectory() as tmpdir:
        for url in args.broker or [RABBITMQ, REDIS]:
            results.append(run_broker(url, args, Path(tmpdir)))
    table(results)
    summary = {
        "bench": "harness",
        "date": time.strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "seconds": round(time.monotonic() - started, 1),
        "events": args.events,
        "concurrency": args.concurrency,
        "results": results,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
