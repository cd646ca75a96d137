"""``eventfn dev`` and ``eventfn status`` as a user runs them: real subprocesses, real
HTTP to the ingress, real brokers; what the functions did is read from the records
they write and from ``eventfn status --json``.
"""

from __future__ import annotations

import itertools
import json
import os
import pty
import re
import select
import shlex
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from broker_bridge.config import Settings
from broker_bridge.filters import compile_filter
from broker_bridge.publisher import Publisher
from k8s.dev.reload import load_fresh, watch_roots
from worker_runtime.supervisor import pid_alive
from worker_runtime.testing import EventfnProcess, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
EVENTFN = [sys.executable, "-c", "from broker_bridge.cli import main; main()"]
FUNCTION = "dev-recorder"
TYPE = "com.example.dev.recorded"

FUNCTIONS = '''
"""Functions of the eventfn dev tests: each handled event is appended to a record file."""
import itertools
import json
import os
import time

from broker_bridge.formats.json import to_json
from worker_runtime import function


def record(name, event):
    line = json.dumps(
        {"function": name, "pid": os.getpid(), "event": json.loads(to_json(event))}
    )
    fd = os.open(os.environ["EVENTFN_TEST_RECORD"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, (line + "\\n").encode())
    finally:
        os.close(fd)


@function("dev-recorder", subscribe=[{"prefix": {"type": "com.example.dev."}}])
def recorder(event):
    time.sleep(float(os.environ.get("EVENTFN_TEST_DELAY") or 0))
    record("dev-recorder", event)
'''

SECOND = """

@function("dev-second", subscribe=[{"exact": {"type": "com.example.second"}}])
def second(event):
    record("dev-second", event)
"""


# -- helpers ---------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _functions_file(tmp_path: Path, body: str = FUNCTIONS) -> Path:
    path = tmp_path / "devfns.py"
    path.write_text(body)
    return path


def _env(tmp_path: Path, broker_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {
        "EVENTFN_STATE_DIR": str(tmp_path / "state"),
        "EVENTFN_TEST_RECORD": str(tmp_path / "records.jsonl"),
        "EVENTFN_BROKER_URL": broker_url or "",
        **extra,
    }
    return env


class Dev:
    """One ``eventfn dev`` subprocess on a free port, output in a file (not a TTY)."""

    def __init__(self, tmp_path: Path, functions: str, env: dict[str, str], *args: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        runs = len(list(tmp_path.glob("dev-*.log")))
        self.process = EventfnProcess(
            ["dev", "--functions", functions, "--port", str(self.port), *args],
            log_path=tmp_path / f"dev-{runs}.log",
            env=env,
            cwd=tmp_path,
            ready_line="eventfn dev ready",
        )

    def start(self) -> Dev:
        self.process.start(timeout=180)
        return self

    def records(self) -> list[dict[str, Any]]:
        return [
            json.loads(line)
            for line in self.process.log_text().splitlines()
            if line.startswith("{") and line.endswith("}")
        ]

    def statuses(self, function: str) -> list[dict[str, Any]]:
        return [
            r
            for r in self.records()
            if r.get("event") == "dev status" and r.get("function") == function
        ]

    def interrupt(self, timeout: float = 300) -> int:
        proc = self.process.proc
        assert proc is not None
        proc.send_signal(signal.SIGINT)
        return proc.wait(timeout=timeout)

    def stop(self) -> None:
        self.process.terminate(grace=300)


def _handled(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "records.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _status(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EVENTFN, "status", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _status_json(env: dict[str, str], *args: str) -> dict[str, Any]:
    result = _status(env, "--json", *args)
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _row(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(row for row in document["functions"] if row["name"] == name)


def _binary(client: httpx.Client, url: str, event_id: str, data: Any, type_: str = TYPE) -> int:
    response = client.post(
        f"{url}/",
        headers={
            "ce-specversion": "1.0",
            "ce-id": event_id,
            "ce-source": "/tests/dev",
            "ce-type": type_,
            "content-type": "application/json",
        },
        content=json.dumps(data),
    )
    return response.status_code


# -- eventfn dev -----------------------------------------------------------------------
def test_dev_handles_binary_and_structured_events_on_every_broker(broker, tmp_path):
    broker.reset([FUNCTION])
    functions = str(_functions_file(tmp_path))
    env = _env(tmp_path, broker.url)
    dev = Dev(tmp_path, functions, env, "--no-reload").start()
    try:
        with httpx.Client(timeout=60) as client:
            assert _binary(client, dev.url, "bin-1", {"mode": "binary", "n": 1}) == 202
            structured = {
                "specversion": "1.0",
                "id": "str-1",
                "source": "/tests/dev",
                "type": "com.example.dev.structured",
                "datacontenttype": "application/json",
                "data": {"mode": "structured", "text": "héllo ✓"},
            }
            response = client.post(
                f"{dev.url}/",
                headers={"content-type": "application/cloudevents+json"},
                content=json.dumps(structured),
            )
            assert response.status_code == 202, response.text
            assert _binary(client, dev.url, "other-1", {}, type_="com.example.other") == 202
        wait_until(
            lambda: len(_handled(tmp_path)) >= 2,
            timeout=300,
            message=lambda: f"2 handled events, have {_handled(tmp_path)}",
        )
        by_id = {record["event"]["id"]: record for record in _handled(tmp_path)}
        assert set(by_id) == {"bin-1", "str-1"}  # com.example.other matches no subscription
        assert by_id["bin-1"]["event"]["data"] == {"mode": "binary", "n": 1}
        assert by_id["str-1"]["event"]["data"] == structured["data"]
        assert by_id["str-1"]["event"]["type"] == "com.example.dev.structured"

        def settled() -> dict[str, Any] | None:
            document = _status_json(env)  # no --functions: the ones eventfn dev runs
            row = _row(document, FUNCTION)
            done = document["depth"] == 0 and row["handled"] == 2
            return document if done else None

        document = wait_until(settled, timeout=300, interval=1.0, message="status: handled 2")
        row = _row(document, FUNCTION)
        assert document["dev"]["ingress"] == dev.url
        assert row["workers"] >= 1
        assert row["dead_letters"] == 0
        assert row["subscriptions"] == "type starts with com.example.dev."
        # the non-TTY view: plain status lines, printed when a count changed
        wait_until(
            lambda: any(r.get("handled") == 2 for r in dev.statuses(FUNCTION)),
            timeout=120,
            message="a plain 'dev status' line with handled=2",
        )
        lines = dev.statuses(FUNCTION)
        assert all({"ready", "workers", "dead_letters"} <= set(line) for line in lines)
        keys = [(line["ready"], line["workers"], line.get("handled")) for line in lines]
        assert all(a != b for a, b in itertools.pairwise(keys)), "printed unchanged"
        worker_pids = {record["pid"] for record in _handled(tmp_path)}
        assert dev.interrupt() == 0
    finally:
        dev.stop()
    assert "eventfn dev stopped" in dev.process.log_text()
    assert not [pid for pid in worker_pids if pid_alive(pid)], "workers outlived eventfn dev"
    assert _status_json(env, "--functions", functions)["dev"] is None


def test_ctrl_c_during_a_stream_loses_nothing(tmp_path):
    functions = str(_functions_file(tmp_path))
    # handlers slower than the stream: a backlog is left at the stop (checked at the end)
    env = _env(tmp_path, EVENTFN_TEST_DELAY="0.1")
    dev = Dev(tmp_path, functions, env, "--no-reload", "--max-replicas", "1").start()
    accepted: list[str] = []
    refused: Counter[str] = Counter()
    done = threading.Event()

    def stream() -> None:
        with httpx.Client(timeout=60) as client:
            n = 0
            while not done.is_set() and n < 600:
                done.wait(0.01)  # a steady stream, still flowing when Ctrl-C comes
                n += 1
                try:
                    code = _binary(client, dev.url, f"e-{n}", {"n": n})
                except httpx.TransportError as exc:  # the ingress has stopped
                    refused[type(exc).__name__] += 1
                    done.wait(0.05)
                    continue
                if code == 202:
                    accepted.append(f"e-{n}")
                else:
                    refused[str(code)] += 1

    sender = threading.Thread(target=stream)
    sender.start()
    try:
        wait_until(lambda: len(_handled(tmp_path)) >= 30, timeout=300, message="30 handled")
        code = dev.interrupt()
        done.set()
        sender.join()
        assert code == 0
        log = dev.process.log_text()
        assert "eventfn dev stopped" in log
        assert '"killed": false' in log
        assert len(accepted) >= 30
        assert len(accepted) < 600, "the stream had ended before Ctrl-C"
        handled_before = {record["event"]["id"] for record in _handled(tmp_path)}
        restarted = Dev(tmp_path, functions, env, "--no-reload", "--max-replicas", "2").start()
        try:
            wait_until(
                lambda: set(accepted) <= {r["event"]["id"] for r in _handled(tmp_path)},
                timeout=600,
                message=lambda: (
                    f"all {len(accepted)} accepted events handled; missing "
                    f"{sorted(set(accepted) - {r['event']['id'] for r in _handled(tmp_path)})[:10]}"
                ),
            )
            assert restarted.interrupt() == 0
        finally:
            restarted.stop()
    finally:
        done.set()
        sender.join()
        dev.stop()
    handled = Counter(record["event"]["id"] for record in _handled(tmp_path))
    assert set(accepted) <= set(handled)
    # the stop really came mid-stream: some accepted events were left for the restart
    assert set(accepted) - handled_before, "every event was handled before Ctrl-C returned"


def test_reload_restarts_on_edits_and_survives_a_broken_one(tmp_path):
    path = _functions_file(tmp_path)
    env = _env(tmp_path)
    dev = Dev(tmp_path, str(path), env, "--reload").start()
    try:
        with httpx.Client(timeout=60) as client:
            assert _binary(client, dev.url, "before", {}) == 202
            wait_until(lambda: _handled(tmp_path), timeout=300, message="first event handled")
            path.write_text(FUNCTIONS + "\ndef broken(:\n")
            dev.process.wait_for_log("reload failed; still running", timeout=120)
            assert _binary(client, dev.url, "during", {}) == 202
            wait_until(lambda: len(_handled(tmp_path)) >= 2, timeout=300, message="still served")
            path.write_text(FUNCTIONS + SECOND)
            dev.process.wait_for_log('"event": "reloaded"', timeout=300)
            dev.process.wait_for_log("eventfn dev ready", count=2, timeout=300)  # new function
            assert _binary(client, dev.url, "new", {}, type_="com.example.second") == 202
            wait_until(
                lambda: any(r["function"] == "dev-second" for r in _handled(tmp_path)),
                timeout=300,
                message="the added function handled its event",
            )
        assert dev.interrupt() == 0
    finally:
        dev.stop()
    functions = [(r["function"], r["event"]["id"]) for r in _handled(tmp_path)]
    assert sorted(functions) == [
        ("dev-recorder", "before"),
        ("dev-recorder", "during"),
        ("dev-second", "new"),
    ]


def test_live_view_on_a_terminal(tmp_path):
    functions = str(_functions_file(tmp_path))
    port = _free_port()
    env = {**os.environ, **_env(tmp_path), "COLUMNS": "160", "LINES": "50", "TERM": "xterm"}
    env.pop("EVENTFN_LOG_FORMAT", None)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*EVENTFN, "dev", "--functions", functions, "--port", str(port), "--no-reload"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
    )
    os.close(slave)
    output = bytearray()

    def read() -> None:
        while True:
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                if proc.poll() is not None:
                    return
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal closed with the process
                return
            if not chunk:
                return
            output.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def text() -> str:
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", bytes(output).decode(errors="replace"))

    try:
        wait_until(lambda: "eventfn dev ready" in text(), timeout=180, message="ready")
        with httpx.Client(timeout=60) as client:
            assert _binary(client, f"http://127.0.0.1:{port}", "tty-1", {}) == 202
        wait_until(lambda: _handled(tmp_path), timeout=300, message="handled")
        # the worker's own log lines scroll above the table, prefixed with its name
        wait_until(
            lambda: re.search(rf"{FUNCTION}-\d+ \| .*succeeded", text()),
            timeout=120,
            message=lambda: f"worker log lines in {text()[-3000:]}",
        )
        row = re.compile(rf"│ {FUNCTION} +│ +(\d+) │ +(\d+) │ +(\d+) │ +(\d+) │")
        wait_until(
            lambda: ("0", "0", "1", "1") in row.findall(text()),  # ready unacked workers handled
            timeout=120,
            message=lambda: f"a table row with handled 1 in {text()[-3000:]}",
        )
        assert "letters" in text()
        assert "(bridge)" in text()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=300) == 0
    finally:
        if proc.poll() is None:  # a failed test: stop it and its children properly
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=300)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        reader.join(timeout=10)
        os.close(master)
    # it redraws in place: the header is printed many times, the banner once
    assert text().count("eventfn dev\r\n") + text().count("eventfn dev\n") >= 1
    assert text().count("  ingress    http://127.0.0.1") == 1


def test_one_dev_per_state_directory_and_a_busy_port_is_one_line(tmp_path):
    functions = str(_functions_file(tmp_path))
    env = _env(tmp_path)
    dev = Dev(tmp_path, functions, env, "--no-reload").start()
    try:
        second = subprocess.run(
            [*EVENTFN, "dev", "--functions", functions, "--port", "0", "--no-reload"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert second.returncode == 1
        assert f"another eventfn dev (pid {dev.process.pid})" in second.stderr
        busy = subprocess.run(
            [*EVENTFN, "dev", "--functions", functions, "--port", str(dev.port)],
            env={**os.environ, **_env(tmp_path / "other")},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert busy.returncode == 1
        lines = [line for line in busy.stderr.splitlines() if line.strip()]
        assert lines == [
            f"Error: cannot listen on 127.0.0.1:{dev.port} (Address already in use); "
            "choose another port with --port"
        ]
        assert dev.interrupt() == 0
    finally:
        dev.stop()


def test_processes_left_by_a_killed_dev_are_stopped_by_the_next_one(tmp_path):
    functions = str(_functions_file(tmp_path))
    env = _env(tmp_path)
    state = tmp_path / "state" / "dev" / "dev.json"
    dev = Dev(tmp_path, functions, env, "--no-reload").start()
    left: list[int] = []
    try:
        with httpx.Client(timeout=60) as client:
            assert _binary(client, dev.url, "k-1", {}) == 202
        wait_until(lambda: _handled(tmp_path), timeout=300, message="handled")
        wait_until(
            lambda: len(json.loads(state.read_text())["children"]) == 3,
            timeout=120,
            message="ingress, bridge and a worker in dev.json",
        )
        left = json.loads(state.read_text())["children"]
        dev.process.kill()  # SIGKILL: no shutdown; its children live on
        assert all(pid_alive(pid) for pid in left)
        again = Dev(tmp_path, functions, env, "--no-reload").start()
        try:
            again.process.wait_for_log("stopping processes left by a killed eventfn dev")
            assert not [pid for pid in left if pid_alive(pid)]
            with httpx.Client(timeout=60) as client:
                assert _binary(client, again.url, "k-2", {}) == 202
            wait_until(lambda: len(_handled(tmp_path)) >= 2, timeout=300, message="handled")
            assert again.interrupt() == 0
        finally:
            again.stop()
    finally:
        dev.stop()
        for pid in left:
            if pid_alive(pid):
                os.killpg(pid, signal.SIGKILL)


def test_a_dead_ingress_or_bridge_is_restarted(tmp_path):
    functions = str(_functions_file(tmp_path))
    env = _env(tmp_path)
    state = tmp_path / "state" / "dev" / "dev.json"
    dev = Dev(tmp_path, functions, env, "--no-reload").start()
    try:
        wait_until(state.exists, timeout=120, message="dev.json")
        ingress, bridge = json.loads(state.read_text())["children"][:2]
        for pid in (ingress, bridge):
            os.killpg(pid, signal.SIGKILL)
        dev.process.wait_for_log("process exited; restarting", count=2, timeout=120)
        dev.process.wait_for_log("eventfn dev ready", count=2, timeout=300)
        with httpx.Client(timeout=60) as client:
            assert _binary(client, dev.url, "after-restart", {}) == 202
        wait_until(lambda: _handled(tmp_path), timeout=300, message="handled after restarts")
        children = json.loads(state.read_text())["children"]
        assert ingress not in children
        assert bridge not in children
        assert dev.interrupt() == 0
    finally:
        dev.stop()


# -- eventfn status --------------------------------------------------------------------
def test_status_reads_depths_on_every_broker(broker, tmp_path):
    broker.reset([FUNCTION])
    functions = str(_functions_file(tmp_path))
    env = _env(tmp_path, broker.url)
    document = _status_json(env, "--functions", functions)
    assert document["dev"] is None
    assert document["depth"] == 0
    row = _row(document, FUNCTION)
    assert row["handled"] is None  # no eventfn dev: the workers' counts are unknown
    assert row["workers"] == (0 if broker.kind == "rabbitmq" else None)  # consumers
    with Publisher(broker.url, settings=Settings(broker_url=broker.url)) as publisher:
        publisher.publish_many([{"type": TYPE, "source": "/t", "data": n} for n in range(3)])
        publisher.publish_to_function(FUNCTION, {"type": TYPE, "source": "/t"})
        publisher.publish_to_function(FUNCTION, {"type": TYPE, "source": "/t"})
    document = _status_json(env, "--functions", functions)
    assert document["bridge"]["ready"] == 3
    assert _row(document, FUNCTION)["ready"] == 2
    assert document["depth"] == 5
    assert document["sees_unacked"] is (broker.kind != "rabbitmq")
    table = _status(env, "--functions", functions)
    assert table.returncode == 0, table.stderr
    assert FUNCTION in table.stdout
    assert "no eventfn dev runs" in table.stdout


def test_status_of_an_unreachable_broker_is_one_line_and_exit_1(tmp_path):
    result = _status(_env(tmp_path), "--broker", "amqp://guest:secret@127.0.0.1:1//")
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "cannot reach broker amqp://guest:***@127.0.0.1:1//" in lines[0]
    assert "secret" not in result.stderr


# -- the tutorial's curl commands --------------------------------------------------------
TUTORIAL = REPO / "docs" / "tutorial.md"


def _shell_blocks(markdown: str) -> list[str]:
    return re.findall(r"```(?:sh|bash|shell|console)\n(.*?)```", markdown, flags=re.S)


def _curl_commands(markdown: str) -> list[list[str]]:
    commands = []
    for block in _shell_blocks(markdown):
        joined = re.sub(r"\\\n\s*", " ", block)
        for raw in joined.splitlines():
            line = raw.strip().removeprefix("$ ")
            if line.startswith("curl "):
                commands.append(shlex.split(line, comments=True))
    return commands


def _request(argv: list[str]) -> dict[str, Any] | None:
    """method, path, headers and body of a curl command line; None for a GET."""
    method, url, headers, body = None, None, {}, None
    args = iter(argv[1:])
    for arg in args:
        if arg in ("-X", "--request"):
            method = next(args)
        elif arg in ("-H", "--header"):
            name, _, value = next(args).partition(":")
            headers[name.strip().lower()] = value.strip()
        elif arg in ("-d", "--data", "--data-raw", "--data-binary", "--json"):
            body = next(args)
            assert not body.startswith("@"), f"cannot send a file from the tutorial: {argv}"
            if arg == "--json":
                headers.setdefault("content-type", "application/json")
        elif arg.startswith(("http://", "https://", "localhost", "127.0.0.1")):
            url = arg if "://" in arg else f"http://{arg}"
        elif arg in ("-o", "--output", "-w", "--write-out", "-u", "--user", "-m", "--max-time"):
            next(args)
    assert url is not None, f"no URL in {argv}"
    method = method or ("POST" if body is not None else "GET")
    if method != "POST":
        return None
    if body is not None:
        headers.setdefault("content-type", "application/x-www-form-urlencoded")  # as curl does
    return {"path": urlsplit(url).path or "/", "headers": headers, "body": body or ""}


def _events_of(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The CloudEvents attributes a request carries."""
    headers = request["headers"]
    content_type = headers.get("content-type", "")
    if content_type.startswith("application/cloudevents-batch+json"):
        return [{k: v for k, v in e.items() if k != "data"} for e in json.loads(request["body"])]
    if content_type.startswith("application/cloudevents+json"):
        return [{k: v for k, v in json.loads(request["body"]).items() if k != "data"}]
    attributes = {name[3:]: value for name, value in headers.items() if name.startswith("ce-")}
    if content_type:
        attributes["datacontenttype"] = content_type
    return [attributes]


def test_every_curl_request_of_the_tutorial_is_accepted_and_handled(tmp_path):
    if not TUTORIAL.exists():
        pytest.skip("docs/tutorial.md is not written yet")
    requests = [r for r in map(_request, _curl_commands(TUTORIAL.read_text())) if r is not None]
    assert requests, "the tutorial has no curl POST"
    registry = load_fresh("functions", watch_roots("functions"))
    expected: Counter[str] = Counter()
    for request in requests:
        if request["path"].startswith("/functions/"):
            expected[request["path"].removeprefix("/functions/").strip("/")] += 1
            continue
        for attributes in _events_of(request):
            for spec in registry:
                if spec.subscribe and compile_filter(list(spec.subscribe)).matches(attributes):
                    expected[spec.name] += 1
    env = _env(tmp_path)
    dev = Dev(tmp_path, "functions", env, "--no-reload").start()
    try:
        with httpx.Client(timeout=60) as client:
            for request in requests:
                response = client.post(
                    f"{dev.url}{request['path']}",
                    headers=request["headers"],
                    content=request["body"].encode(),
                )
                assert response.status_code == 202, (request, response.text)

        def all_done() -> bool:
            document = _status_json(env)
            if document["depth"] != 0:
                return False
            return all(
                (_row(document, name)["handled"] or 0) + _row(document, name)["dead_letters"] >= n
                for name, n in expected.items()
            )

        wait_until(
            all_done,
            timeout=600,
            interval=1.0,
            message=lambda: f"handled {dict(expected)}: {_status_json(env)['functions']}",
        )
        assert dev.interrupt() == 0
    finally:
        dev.stop()
