"""``eventfn dev``: start-up time to the first event handled, idle memory, stop time.

    python bench/bench_dev.py                  # 3 trials, 10 s idle windows
    python bench/bench_dev.py --trials 1 --idle-seconds 5

Each trial starts ``eventfn dev`` (embedded broker in a fresh state directory, a
one-function module whose handler records the time it ran) as a real subprocess,
POSTs one binary-mode event to the ingress as soon as it accepts connections, and
measures:

* ``ready_s``: start -> the ingress answers ``/healthz``;
* ``first_event_s``: start -> the handler ran (ingress, bridge, push activation,
  worker cold start from zero replicas);
* ``cold_event_s``: the POST's 202 -> the handler ran (scale from zero alone);
* ``rss_one_worker_mb``: resident memory of ``eventfn dev`` and every process under
  it (ingress, bridge, the worker and its pool), after ``--idle-seconds`` idle;
* ``stop_s``: SIGINT -> ``eventfn dev`` exited (0).

Once more, without any event: ``rss_idle_mb`` after ``--idle-seconds`` (no worker:
scaled to zero). Memory is read from ``/proc/<pid>/status`` (VmRSS), summed over the
process tree. Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EVENTFN = [sys.executable, "-c", "from broker_bridge.cli import main; main()"]
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy

FUNCTIONS = """
import os
import time

from worker_runtime import function


@function("bench-dev", subscribe=[{"exact": {"type": "com.example.bench.dev"}}])
def handle(event):
    with open(os.environ["BENCH_RECORD"], "a") as out:
        out.write(f"{time.time()}\\n")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def tree_rss_mb(root: int) -> tuple[float, int]:
    """Summed VmRSS of ``root`` and its descendants (MiB), and how many processes."""
    tree = children()
    pending, total, count = [root], 0, 0
    while pending:
        pid = pending.pop()
        pending += tree.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    count += 1
        except OSError:
            continue
    return total / 1024, count


class Dev:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.record = tmp / "handled.txt"
        functions = tmp / "bench_dev_functions.py"
        functions.write_text(FUNCTIONS)
        env = {
            **os.environ,
            "EVENTFN_STATE_DIR": str(tmp / "state"),
            "EVENTFN_LOG_FORMAT": "json",
            "BENCH_RECORD": str(self.record),
        }
        env.pop("EVENTFN_BROKER_URL", None)
        self.started = time.monotonic()
        with (tmp / "dev.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [*EVENTFN, "dev", "--functions", str(functions), "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=tmp,
            )

    def wait_ready(self, deadline: float = 180) -> float:
        url = f"http://127.0.0.1:{self.port}/healthz"
        while time.monotonic() - self.started < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"eventfn dev exited: see {self.tmp / 'dev.log'}")
            try:
                with DIRECT.open(url, timeout=1) as response:
                    if response.status == 200:
                        return time.monotonic() - self.started
            except (OSError, urllib.error.URLError):
                time.sleep(0.01)
        raise SystemExit("eventfn dev did not get ready")

    def post(self) -> float:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/",
            data=b'{"n": 1}',
            headers={
                "ce-specversion": "1.0",
                "ce-id": "1",
                "ce-source": "/bench",
                "ce-type": "com.example.bench.dev",
                "content-type": "application/json",
            },
        )
        while True:
            try:
                with DIRECT.open(request, timeout=30) as response:
                    assert response.status == 202, response.status
                    return time.monotonic()
            except (ConnectionError, urllib.error.URLError):
                if time.monotonic() - self.started > 180:
                    raise
                time.sleep(0.01)

    def wait_handled(self, deadline: float = 300) -> float:
        while time.monotonic() - self.started < deadline:
            if self.record.exists() and self.record.read_text().strip():
                return time.monotonic()
            time.sleep(0.005)
        raise SystemExit("the event was not handled")

    def stop(self) -> float:
        begun = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=300)
        assert code == 0, f"eventfn dev exited with {code}"
        return time.monotonic() - begun


def trial(idle: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="eventfn-bench-dev-") as name:
        dev = Dev(Path(name))
        try:
            ready = dev.wait_ready()
            accepted = dev.post()
            handled = dev.wait_handled()
            time.sleep(idle)
            rss, processes = tree_rss_mb(dev.proc.pid)
            stop = dev.stop()
        finally:
            if dev.proc.poll() is None:
                dev.proc.kill()
                dev.proc.wait()
        return {
            "ready_s": ready,
            "first_event_s": handled - dev.started,
            "cold_event_s": handled - accepted,
            "rss_one_worker_mb": rss,
            "processes_one_worker": processes,
            "stop_s": stop,
        }


def idle_only(idle: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="eventfn-bench-dev-") as name:
        dev = Dev(Path(name))
        try:
            dev.wait_ready()
            time.sleep(idle)
            rss, processes = tree_rss_mb(dev.proc.pid)
            dev.stop()
        finally:
            if dev.proc.poll() is None:
                dev.proc.kill()
                dev.proc.wait()
        return {"rss_idle_mb": rss, "processes_idle": processes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    args = parser.parse_args()
    trials = [trial(args.idle_seconds) for _ in range(args.trials)]
    result: dict[str, float] = {key: statistics.median(t[key] for t in trials) for key in trials[0]}
    result |= idle_only(args.idle_seconds)
    rows = [
        ("start -> ingress ready", f"{result['ready_s']:.2f} s"),
        ("start -> first event handled", f"{result['first_event_s']:.2f} s"),
        ("202 -> handled (cold worker)", f"{result['cold_event_s']:.2f} s"),
        (
            f"RSS idle, 1 worker ({int(result['processes_one_worker'])} procs)",
            f"{result['rss_one_worker_mb']:.0f} MiB",
        ),
        (
            f"RSS idle, 0 workers ({int(result['processes_idle'])} procs)",
            f"{result['rss_idle_mb']:.0f} MiB",
        ),
        ("Ctrl-C -> exited", f"{result['stop_s']:.2f} s"),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"eventfn dev, embedded broker, median of {args.trials} trial(s)")
    for label, value in rows:
        print(f"  {label:<{width}}  {value:>10}")
    print(
        json.dumps(
            {"bench": "dev", "trials": args.trials, **{k: round(v, 3) for k, v in result.items()}}
        )
    )


if __name__ == "__main__":
    main()
