"""Helpers of the reliability tests: a private RabbitMQ node with per-test vhosts, a
pipeline of real ``eventfn`` processes, handled-event accounting, RSS readings.

The node runs under a user whose password holds URL-special characters, so every
test also checks that no process ever writes that password to its log.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kombu import Connection
from support.rabbitmq_node import NodeFailed, RabbitMQNode

from broker_bridge import topology
from worker_runtime.testing import EventfnProcess, wait_until

FUNCTIONS = str(Path(__file__).with_name("rel_functions.py"))
USER = "eventfn-rel"
#: URL-special characters on purpose: masking must work on the encoded form too.
SECRET = f"s3cr@t/{uuid.uuid4().hex[:12]}:x%"

READY = {"bridge": "bridge consuming", "worker": "ready.", "ingress": "ingress listening"}


class Broker:
    """The private node as the reliability tests use it."""

    def __init__(self, node: RabbitMQNode) -> None:
        self.node = node
        self._ctl("add_user", USER, SECRET)

    def _ctl(self, *args: str) -> None:
        done = self.node._ctl(*args)
        if done.returncode != 0:
            raise NodeFailed(f"rabbitmqctl {args[0]} failed: {done.stdout}{done.stderr}")

    def vhost(self) -> str:
        """A fresh vhost the test user may use; returns its broker URL."""
        name = f"rel-{uuid.uuid4().hex[:8]}"
        self._ctl("add_vhost", name)
        self._ctl("set_permissions", "-p", name, USER, ".*", ".*", ".*")
        return f"amqp://{USER}:{quote(SECRET, safe='')}@127.0.0.1:{self.node.port}/{name}"

    def messages(self, url: str) -> dict[str, int]:
        """Every queue of the URL's vhost with its messages, ready and unacked."""
        vhost = url.rsplit("/", 1)[1]
        done = self.node._ctl("list_queues", "-q", "-p", vhost, "name", "messages")
        if done.returncode != 0:
            raise NodeFailed(f"rabbitmqctl list_queues failed: {done.stdout}{done.stderr}")
        counts = {}
        for line in done.stdout.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                counts[parts[0]] = int(parts[1])
        return counts

    def wait_quiet(self, url: str, timeout: float = 300) -> None:
        """Wait until no queue of eventfn's data path holds a message (ready or unacked):
        nothing is left to deliver, so the handled counts are final."""

        def busy() -> dict[str, int]:
            return {
                name: n
                for name, n in self.messages(url).items()
                if n and not name.endswith(".dlq") and name != topology.ACTIVATE_QUEUE
            }

        wait_until(
            lambda: not busy(), timeout=timeout, interval=1.0, message=lambda: f"{busy()} to empty"
        )


def depth(url: str, queue_name: str) -> int:
    """Messages ready in ``queue_name`` (0 when it does not exist)."""
    with Connection(url) as conn:
        channel = conn.channel()
        try:
            _, count, _ = channel.queue_declare(queue_name, passive=True)
        except Exception:
            return 0
        finally:
            if channel.is_open:
                channel.close()
    return int(count)


def drain(url: str, queue_name: str) -> list[Any]:
    """Consume (ack) every message now in ``queue_name``."""
    out = []
    with Connection(url) as conn:
        bound = topology.queue(queue_name)(conn.channel())
        bound.declare()
        while (message := bound.get(no_ack=True, accept=None)) is not None:
            out.append(message)
    return out


# -- records ---------------------------------------------------------------------------
def records(path: Path, fn: str | None = None) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    return [row for row in rows if fn is None or row["fn"] == fn]


def record_count(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


@dataclass
class Tally:
    """Events accepted vs handled for one function: the figures the docs quote."""

    scenario: str
    function: str
    accepted: int
    handled: int
    lost: int
    duplicated: int

    def line(self) -> str:
        return (
            f"RELIABILITY {self.scenario} {self.function}: accepted={self.accepted} "
            f"handled={self.handled} lost={self.lost} duplicated={self.duplicated}"
        )


def tally(
    scenario: str, function: str, accepted: Iterable[str], handled: Iterable[str], **extra: Any
) -> Tally:
    wanted = set(accepted)
    calls = Counter(handled)
    result = Tally(
        scenario=scenario,
        function=function,
        accepted=len(wanted),
        handled=len(set(calls) & wanted),
        lost=len(wanted - set(calls)),
        duplicated=sum(n - 1 for n in calls.values()),
    )
    report(result, **extra)
    return result


def report(result: Tally, **extra: Any) -> None:
    """Print the figures and append them to ``EVENTFN_RELIABILITY_REPORT`` when set."""
    print(result.line(), extra or "")
    target = os.environ.get("EVENTFN_RELIABILITY_REPORT")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps({**result.__dict__, **extra}) + "\n")


# -- processes ---------------------------------------------------------------------------
@dataclass
class Pipeline:
    """Real ``eventfn`` processes on one broker URL, all stopped by :meth:`close`."""

    tmp_path: Path
    url: str
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[EventfnProcess] = field(default_factory=list)

    @property
    def record_file(self) -> Path:
        return self.tmp_path / "records.jsonl"

    @property
    def env(self) -> dict[str, str]:
        return {
            "EVENTFN_BROKER_URL": self.url,
            "EVENTFN_STATE_DIR": str(self.tmp_path / "state"),
            "EVENTFN_TEST_RECORD": str(self.record_file),
            **self.extra_env,
        }

    def start(self, kind: str, *args: str, name: str) -> EventfnProcess:
        command = [kind, *args, "--functions", FUNCTIONS]
        if kind == "ingress":
            command += ["--port", "0"]
        process = EventfnProcess(
            command,
            log_path=self.tmp_path / f"{name}.log",
            env=self.env,
            cwd=self.tmp_path,
            ready_line=READY[kind],
        )
        self.processes.append(process)
        return process.start(timeout=180)

    def worker(self, function: str, *args: str, name: str) -> EventfnProcess:
        return self.start("worker", function, *args, name=name)

    def close(self) -> None:
        for process in reversed(self.processes):
            process.terminate(grace=60)

    def logs(self) -> str:
        return "\n".join(process.log_text() for process in self.processes)

    def assert_secret_never_logged(self) -> None:
        text = self.logs()
        for form in {SECRET, quote(SECRET, safe=""), quote(SECRET)}:
            assert form not in text, "the broker password appears in a process log"


def ingress_url(process: EventfnProcess) -> str:
    for line in process.log_text().splitlines():
        if "ingress listening" in line:
            return f"http://127.0.0.1:{json.loads(line)['port']}"
    raise AssertionError("the ingress never said where it listens")


def alive(process: EventfnProcess) -> bool:
    return process.proc is not None and process.proc.poll() is None


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` in KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def tree_rss_kib(pid: int) -> int:
    """RSS of ``pid`` and its children (a prefork worker's pool)."""
    total = rss_kib(pid)
    for child in Path(f"/proc/{pid}/task").glob("*/children"):
        for text in child.read_text().split():
            try:
                total += tree_rss_kib(int(text))
            except FileNotFoundError:
                continue
    return total


# -- event streams ---------------------------------------------------------------------------
def event(kind: str, event_id: str, **data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "type": kind,
        "source": "/tests/reliability",
        "id": event_id,
        "datacontenttype": "application/json",
        "data": {"id": event_id, **data},
    }


class Background:
    """Runs ``target`` in a thread; re-raises its exception on :meth:`join`."""

    def __init__(self, target: Callable[[], None], name: str) -> None:
        self.error: BaseException | None = None
        self.done = threading.Event()

        def run() -> None:
            try:
                target()
            except BaseException as exc:
                self.error = exc
            finally:
                self.done.set()

        self.thread = threading.Thread(target=run, name=name, daemon=True)
        self.thread.start()

    def join(self, timeout: float = 600) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"{self.thread.name} did not finish"
        if self.error is not None:
            raise self.error


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def wait_handled(
    path: Path, expected: dict[str, set[str]], timeout: float, interval: float = 0.5
) -> None:
    """Wait until every expected (function, id) is in the record file."""

    def missing() -> int:
        seen: dict[str, set[str]] = {}
        for row in records(path):
            seen.setdefault(row["fn"], set()).add(row["id"])
        return sum(len(ids - seen.get(fn, set())) for fn, ids in expected.items())

    wait_until(
        lambda: missing() == 0,
        timeout=timeout,
        interval=interval,
        message=lambda: f"every accepted event handled; {missing()} missing",
    )
