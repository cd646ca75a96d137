"""The one child-process supervisor: children die with a SIGKILLed parent, leave no
zombie behind, and stop_all stops every child (SIGKILL after the grace)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from worker_runtime.supervisor import ChildProcess, pid_alive, stop_all
from worker_runtime.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.skipif(sys.platform != "linux", reason="prctl")]

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]
STUBBORN = [
    sys.executable,
    "-c",
    "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(120)",
]


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


def test_children_die_with_a_sigkilled_parent(tmp_path: Path) -> None:
    parent_code = textwrap.dedent(
        f"""
        import sys, time
        from worker_runtime.supervisor import ChildProcess
        children = [ChildProcess(f"c{{i}}", [], command={SLEEPER!r}).start() for i in range(3)]
        print("PIDS", " ".join(str(c.pid) for c in children), flush=True)
        time.sleep(120)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        line = next(line for line in parent.stdout if line.startswith("PIDS "))
        pids = [int(pid) for pid in line.split()[1:]]
        assert len(pids) == 3
        assert all(pid_alive(pid) for pid in pids)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        # reparented to init (or a subreaper), which reaps them: gone, not <defunct>
        wait_until(lambda: all(_state(pid) == "gone" for pid in pids), timeout=30)
    finally:
        parent.kill()
        parent.wait(timeout=30)
        if parent.stdout is not None:
            parent.stdout.close()


def test_stop_all_signals_every_child_and_kills_the_stubborn_after_the_grace(
    tmp_path: Path,
) -> None:
    log = tmp_path / "stubborn.log"
    polite = [ChildProcess(f"p{i}", [], command=SLEEPER).start() for i in range(2)]
    stubborn = ChildProcess("s", [], command=STUBBORN, log_path=log).start()
    wait_until(lambda: log.exists() and "ready" in log.read_text(), timeout=30)
    stop_all([*polite, stubborn], grace=1.0)
    assert [child.returncode for child in polite] == [-signal.SIGTERM] * 2
    assert stubborn.returncode == -signal.SIGKILL
    assert all(_state(child.pid) == "gone" for child in [*polite, stubborn])  # reaped


def test_a_crashed_child_is_restarted_after_its_backoff() -> None:
    clock = [0.0]
    child = ChildProcess(
        "crasher",
        [],
        command=[sys.executable, "-c", "raise SystemExit(3)"],
        restart_backoff=1.0,
        clock=lambda: clock[0],
    ).start()
    first = child.pid
    child.proc.wait(timeout=30)  # type: ignore[union-attr]
    child.check()  # notices the crash, schedules the restart in 1 s
    assert child.pid == first
    clock[0] = 1.0
    child.check()
    assert child.pid != first
    assert child.restarts == 1
    child.proc.wait(timeout=30)  # type: ignore[union-attr]
    assert child.returncode == 3
