"""Cold start from zero replicas: publish one event -> its handler starts.

    python bench/bench_scale_from_zero.py --broker amqp://guest:guest@127.0.0.1:5672// --trials 5

A real ``eventfn bridge`` process routes the events; the autoscaler
(:class:`k8s.dev.autoscaling.LocalAutoscaling`, local worker processes) runs in this process.
Each trial starts from zero workers: publish one event (clock starts), wait for the
handler's "start" record (clock stops), wait until the function is back at zero.
Two modes: *push* (the bridge's activation signal on ``eventfn.activate`` wakes the
autoscaler at once) and *poll* (activation consumer off: the next poll finds the
message). ``--self-activate`` publishes the activation signal from here (as the
bridge does) for bridges that do not send it yet. Target: push <= 2 s locally.
Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("EVENTFN_LOG_LEVEL", "WARNING")

from kombu import Connection  # noqa: E402

from broker_bridge.config import Settings  # noqa: E402
from broker_bridge.publisher import Publisher  # noqa: E402
from k8s.autoscaler import Activation, activation_queue  # noqa: E402
from k8s.dev.autoscaling import LocalAutoscaling  # noqa: E402
from k8s.scaling import ScalingPolicy  # noqa: E402
from worker_runtime.loading import load_functions  # noqa: E402
from worker_runtime.registry import use_registry  # noqa: E402
from worker_runtime.testing import EventfnProcess, wait_until  # noqa: E402

FUNCTIONS = str(REPO / "tests" / "e2e" / "k8s" / "scaled_functions.py")
QUEUES = ["eventfn.bridge", "eventfn.activate", "eventfn.fn.scaled"]
#: Scale to zero as soon as idle, so trials follow each other quickly.
POLICY = ScalingPolicy(max_replicas=1, cooldown_seconds=0, scale_down_stabilization_seconds=0)


def own_vhost(url: str) -> tuple[str, str | None]:
    """A RabbitMQ vhost of this run (rabbitmqctl, when present): a broker shared with other
    runs would let their bridges and autoscalers take our events and signals."""
    if not url.startswith("amqp") or shutil.which("rabbitmqctl") is None:
        return url, None
    vhost = f"eventfn-bench-{os.getpid()}"
    for args in (["add_vhost", vhost], ["set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"]):
        subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/{vhost}", vhost


def drop_vhost(vhost: str | None) -> None:
    if vhost is not None:
        subprocess.run(
            ["rabbitmqctl", "-q", "delete_vhost", vhost],
            capture_output=True,
            timeout=60,
            check=False,
        )


def purge(url: str) -> None:
    if not url.startswith("amqp"):
        return
    with Connection(url) as conn:
        channel = conn.channel()
        for name in QUEUES:
            try:
                channel.queue_delete(name)
            except Exception:
                channel = conn.channel()
        channel.close()


def starts(path: Path) -> dict[str, float]:
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["phase"] == "start":
            out.setdefault(record["id"], record["t"])
    return out


def self_activate(url: str, settings: Settings) -> None:
    from broker_bridge.connection import connect

    with connect(settings, url) as conn, conn.Producer() as producer:
        producer.publish(
            Activation(function="scaled", at=time.time()).to_json(),
            exchange="",
            routing_key=activation_queue().name,
            declare=[activation_queue()],
            content_type="application/json",
            content_encoding="utf-8",
        )


def run_mode(args, mode: str, workdir: Path, registry) -> list[float]:
    url = args.broker
    purge(url)
    record = workdir / f"{mode}.jsonl"
    env = {
        **os.environ,
        "EVENTFN_BROKER_URL": url,
        "EVENTFN_TEST_RECORD": str(record),
        "EVENTFN_LOG_FORMAT": "json",
        # every routed event also sends an activation signal (no idle window)
        "EVENTFN_BRIDGE_ACTIVATION_IDLE": "0",
        "EVENTFN_LOG_LEVEL": "INFO",
    }
    settings = Settings(broker_url=url)
    bridge = EventfnProcess(
        ["bridge", "--functions", FUNCTIONS],
        log_path=workdir / f"bridge-{mode}.log",
        env=env,
        cwd=workdir,
        ready_line="bridge consuming",
    ).start()
    scaling = LocalAutoscaling(
        FUNCTIONS,
        registry=registry,
        broker_url=url,
        state_dir=workdir / f"state-{mode}",
        policy=POLICY,
        interval=args.interval,
        activation=mode == "push",
        log_dir=workdir / f"workers-{mode}",
        env=env,
        settings=settings,
    )
    stop = threading.Event()
    thread = threading.Thread(target=scaling.run, args=(stop,), daemon=True)
    thread.start()
    latencies = []
    try:
        if scaling.listener is not None:
            wait_until(scaling.listener.ready.is_set, timeout=30)
        with Publisher(url, settings=settings) as publisher:
            for trial in range(args.trials):
                wait_until(lambda: not scaling.actuator.all_replicas(), timeout=60, interval=0.05)
                time.sleep(random.uniform(0, args.interval))  # land anywhere in the poll cycle
                event_id = f"{mode}-{trial}"
                t0 = time.time()
                publisher.publish(
                    {"type": "com.example.e2e.scaled", "source": "/bench", "id": event_id}
                )
                if mode == "push" and args.self_activate:
                    self_activate(url, settings)
                started = wait_until(
                    lambda event_id=event_id: starts(record).get(event_id),
                    timeout=120,
                    interval=0.01,
                )
                latencies.append(started - t0)
                print(f"  {mode:5} trial {trial}: {started - t0:6.3f} s", flush=True)
    finally:
        stop.set()
        thread.join(timeout=120)
        bridge.terminate(grace=30)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672//")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--interval", type=float, default=2.0, help="autoscaler poll (s)")
    parser.add_argument("--self-activate", action="store_true")
    args = parser.parse_args()
    results = {}
    args.broker, vhost = own_vhost(args.broker)
    try:
        run_all(args, results)
    finally:
        drop_vhost(vhost)
    report(args, results)


def run_all(args, results) -> None:
    with tempfile.TemporaryDirectory(prefix="eventfn-bench-") as tmp, use_registry() as registry:
        load_functions(FUNCTIONS)
        for mode in ("push", "poll"):
            results[mode] = run_mode(args, mode, Path(tmp), registry)


def report(args, results) -> None:
    print()
    print(f"cold start from zero, {args.trials} trials, poll interval {args.interval} s")
    print(f"{'mode':6} {'median s':>9} {'min s':>7} {'max s':>7}")
    summary = {}
    for mode, values in results.items():
        summary[mode] = {
            "median": round(statistics.median(values), 3),
            "min": round(min(values), 3),
            "max": round(max(values), 3),
        }
        print(
            f"{mode:6} {summary[mode]['median']:9.3f} {summary[mode]['min']:7.3f}"
            f" {summary[mode]['max']:7.3f}"
        )
    print(json.dumps({"bench": "scale_from_zero", "interval": args.interval, **summary}))


if __name__ == "__main__":
    main()
