"""Ingress throughput: events/s through ``eventfn ingress`` vs bare kombu loops, one run.

    python bench/bench_ingress.py --seconds 10
    python bench/bench_ingress.py --url amqp://guest:guest@127.0.0.1:5672//

Runs a real ``eventfn ingress`` subprocess (uvicorn) on a loopback port, on a
private RabbitMQ node unless ``--url`` is given, and drives it for a fixed time
from a separate client process (threads with keep-alive ``http.client``
connections: httpx's client costs more CPU than the server on this 2-core box and
would measure itself): single-event requests (structured mode) and 100-event
batch requests. Every 202 means the broker confirmed. The
same run measures the kombu baselines on the same broker (a confirm per message;
no confirms). Target: batch ingress >= 2x the per-message-confirm loop.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_publisher import broker, kombu_loop, purge  # noqa: E402

from broker_bridge.logs import configure_logging  # noqa: E402
from worker_runtime.testing import EventfnProcess  # noqa: E402


def _event(client: int, n: int, i: int) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"c{client}-{n}-{i}",
        "source": "/bench/ingress",
        "type": "com.example.bench",
        "data": {"i": i},
    }


def load(port: int, *, threads: int, batch: int, seconds: float) -> dict[str, float]:
    """Run in a client subprocess: ``threads`` keep-alive connections POST for ``seconds``."""
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    counts = {"events": 0, "non202": 0}
    lock = threading.Lock()

    def client(number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        n = 0
        mine: list[float] = []
        events = non202 = 0
        while time.perf_counter() < deadline:
            if batch == 1:
                headers = {"content-type": "application/cloudevents+json"}
                body = json.dumps(_event(number, n, 0))
            else:
                headers = {"content-type": "application/cloudevents-batch+json"}
                body = json.dumps([_event(number, n, i) for i in range(batch)])
            t0 = time.perf_counter()
            conn.request("POST", "/", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - t0)
            if response.status == 202:
                events += batch
            else:
                non202 += 1
            n += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            counts["events"] += events
            counts["non202"] += non202

    started = time.perf_counter()
    workers = [threading.Thread(target=client, args=(c,)) for c in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    return {
        "events_per_s": counts["events"] / elapsed,
        "requests": float(len(latencies)),
        "non_202": float(counts["non202"]),
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": statistics.quantiles(latencies, n=100)[98] * 1000,
    }


def drive(port: int, *, clients: int, batch: int, seconds: float) -> dict[str, float]:
    """Load from a separate process (its own GIL), so the client does not measure itself."""
    argv = [sys.executable, __file__, "--client", str(port), str(clients), str(batch), str(seconds)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=seconds + 300)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--single-clients", type=int, default=16)
    parser.add_argument("--batch-clients", type=int, default=4)
    parser.add_argument("--url", default=None, help="AMQP URL (default: a private node)")
    parser.add_argument("--client", nargs=4, metavar=("PORT", "THREADS", "BATCH", "SECONDS"))
    args = parser.parse_args()
    if args.client:
        port, threads, size, seconds = args.client
        stats = load(int(port), threads=int(threads), batch=int(size), seconds=float(seconds))
        print(json.dumps(stats))
        return
    configure_logging("console", "WARNING", force=True)
    results: dict[str, Any] = {}
    with broker(args.url) as url, tempfile.TemporaryDirectory() as folder:
        results["kombu_confirm_each_eps"] = kombu_loop(url, 5000, confirm=True)
        results["kombu_no_confirm_eps"] = kombu_loop(url, 20000, confirm=False)
        ingress = EventfnProcess(
            ["ingress", "--port", "0"],
            log_path=Path(folder) / "ingress.log",
            env={"EVENTFN_BROKER_URL": url, "EVENTFN_LOG_LEVEL": "INFO"},
            ready_line="ingress listening",
        )
        # accepted requests are logged at DEBUG, so INFO costs nothing per request
        ingress.start(timeout=120)
        try:
            line = next(x for x in ingress.log_text().splitlines() if "ingress listening" in x)
            port = int(json.loads(line)["port"])
            drive(port, clients=4, batch=1, seconds=1.0)  # warm up
            single = drive(port, clients=args.single_clients, batch=1, seconds=args.seconds)
            purge(url)
            batch = drive(port, clients=args.batch_clients, batch=100, seconds=args.seconds)
            purge(url)
        finally:
            ingress.terminate(grace=60)
    for key, value in single.items():
        results[f"single_{key}"] = value
    for key, value in batch.items():
        results[f"batch100_{key}"] = value
    base_eps = results["kombu_confirm_each_eps"]
    results["single_vs_confirm_each"] = single["events_per_s"] / base_eps
    results["batch100_vs_confirm_each"] = batch["events_per_s"] / base_eps
    print(f"{'measure':<34}{'value':>12}")
    for key, value in results.items():
        print(f"{key:<34}{value:>12.2f}")
    verdict = "PASS" if results["batch100_vs_confirm_each"] >= 2 else "FAIL"
    print(f"target: batch ingress >= 2x confirm-each: {verdict}")
    print(json.dumps({k: round(v, 3) for k, v in results.items()}))


if __name__ == "__main__":
    main()
