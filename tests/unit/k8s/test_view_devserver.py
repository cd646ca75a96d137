"""The pieces of ``eventfn dev`` around the view: banner, state files, lock, orphans,
reloading the functions' modules."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from broker_bridge.errors import ConfigurationError
from k8s.dev import BannerInfo, DevFunction, DevState, banner, curl_example, read_state
from k8s.dev.reload import load_fresh, purge_modules, watch_roots
from k8s.dev.state import DevLock, orphans, write_state
from k8s.scaling import ScalingPolicy
from worker_runtime.errors import FunctionLoadError
from worker_runtime.registry import current_registry


def _text(info: BannerInfo) -> str:
    console = Console(width=300, record=True, color_system=None)
    console.print(banner(info))
    return console.export_text()


def test_banner_names_ingress_broker_functions_and_hints():
    text = _text(
        BannerInfo(
            ingress_url="http://127.0.0.1:8080",
            broker="amqp://guest:***@rabbit:5672//",
            broker_kind="RabbitMQ",
            functions=[("order-logger", "type = com.example.order.created"), ("x", "y")],
            policy=ScalingPolicy(max_replicas=3, cooldown_seconds=60),
            example_type="com.example.order.created",
            watching=["functions/"],
            embedded=False,
        )
    )
    assert "http://127.0.0.1:8080" in text
    assert "amqp://guest:***@rabbit:5672//  (RabbitMQ)" in text
    assert "order-logger  <- type = com.example.order.created" in text
    assert "0..3 workers per function" in text
    assert "to zero after 60 s idle" in text
    assert "watching functions/" in text
    assert "eventfn publish --broker URL --type com.example.order.created" in text
    assert "curl -i http://127.0.0.1:8080/" in text


def test_banner_without_functions_or_reload():
    text = _text(
        BannerInfo(
            ingress_url="http://h:1",
            broker="sqlite://localhost//s/broker.db",
            broker_kind="embedded",
            functions=[],
            policy=ScalingPolicy(min_replicas=1),
        )
    )
    assert "(none registered)" in text
    assert "reload     off" in text
    assert "never below 1" in text
    assert "eventfn publish --type com.example.hello" in text


def test_curl_example_is_a_binary_mode_request():
    command = curl_example("http://127.0.0.1:9", "com.example.x", indent="  ")
    assert all(line.endswith(" \\") for line in command.splitlines()[:-1])
    argv = shlex.split(command.replace("\\\n", " "))
    assert argv[:3] == ["curl", "-i", "http://127.0.0.1:9/"]
    headers = dict(argv[i + 1].split(": ", 1) for i, arg in enumerate(argv) if arg == "-H")
    assert headers["ce-type"] == "com.example.x"
    assert {"ce-specversion", "ce-id", "ce-source", "content-type"} <= set(headers)
    assert argv[-2] == "-d"


def _state(pid: int, children: list[int] | None = None) -> DevState:
    return DevState(
        pid=pid,
        broker="sqlite://localhost//s/broker.db",
        ingress="http://127.0.0.1:8080",
        functions_module="functions",
        started_at=1.0,
        updated_at=2.0,
        functions={"a": DevFunction(workers=1, busy=0, handled_per_second=2.5)},
        children=children or [],
    )


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_state_is_read_back_only_while_its_process_lives(tmp_path):
    assert read_state(tmp_path) is None
    write_state(tmp_path, _state(os.getpid()))
    state = read_state(tmp_path)
    assert state is not None
    assert state.functions["a"].handled_per_second == 2.5
    write_state(tmp_path, _state(_dead_pid()))
    assert read_state(tmp_path) is None


def test_one_dev_per_state_directory(tmp_path):
    first = DevLock(tmp_path).acquire()
    try:
        with pytest.raises(ConfigurationError, match=f"pid {os.getpid()}"):
            DevLock(tmp_path).acquire()
    finally:
        first.release()
    DevLock(tmp_path).acquire().release()


def test_orphans_are_live_eventfn_processes_of_this_state_directory_only(tmp_path):
    state_dir = tmp_path / "state"
    script = "import time; time.sleep(600)  # broker_bridge.cli"

    def sleeper(directory: Path) -> subprocess.Popen[bytes]:
        env = {**os.environ, "EVENTFN_STATE_DIR": str(directory.resolve())}
        return subprocess.Popen([sys.executable, "-c", script], env=env)

    ours, other = sleeper(state_dir), sleeper(tmp_path / "elsewhere")
    try:
        gone = _dead_pid()
        write_state(state_dir, _state(os.getpid(), [ours.pid, other.pid, gone]))
        assert orphans(state_dir) == []  # its eventfn dev still runs
        write_state(state_dir, _state(_dead_pid(), [ours.pid, other.pid, gone]))
        assert orphans(state_dir) == [ours.pid]
    finally:
        for proc in (ours, other):
            proc.kill()
            proc.wait()


def _package(root: Path, body: str) -> None:
    package = root / "devfns"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("from devfns import handlers\n")
    (package / "handlers.py").write_text("from worker_runtime import function\n\n" + body + "\n")
    time.sleep(0.01)


def test_load_fresh_sees_edits_and_leaves_the_current_registry_alone(
    tmp_path, monkeypatch, registry
):
    monkeypatch.syspath_prepend(str(tmp_path))
    _package(
        tmp_path,
        '@function("alpha", subscribe=[{"exact": {"type": "a"}}])\ndef alpha(event):\n    pass',
    )
    fresh = load_fresh("devfns", [])
    try:
        roots = watch_roots("devfns")
        assert [(root.path, root.recursive) for root in roots] == [
            ((tmp_path / "devfns").resolve(), True)
        ]
        assert fresh.names() == ["alpha"]
        _package(
            tmp_path,
            '@function("beta")\ndef beta(event):\n    pass\n\n'
            '@function("gamma")\ndef gamma(event):\n    pass',
        )
        again = load_fresh("devfns", roots)
        assert again.names() == ["beta", "gamma"]
        assert fresh.names() == ["alpha"]
        assert current_registry() is registry
        assert len(registry) == 0
        _package(tmp_path, "def broken(:\n    pass")
        with pytest.raises(FunctionLoadError, match="devfns"):
            load_fresh("devfns", roots)
    finally:
        purge_modules(watch_roots("devfns") or [])
        for name in [n for n in sys.modules if n == "devfns" or n.startswith("devfns.")]:
            del sys.modules[name]


def test_a_functions_file_is_watched_alone(tmp_path):
    file = tmp_path / "fns.py"
    file.write_text("")
    (root,) = watch_roots(f"{file}")
    assert (root.path, root.recursive) == (file.resolve(), False)
    assert root.covers(file.resolve())
    assert not root.covers((tmp_path / "other.py").resolve())
