"""Real ``eventfn`` subprocesses for tests: start, wait until ready, stop, kill.

Each process logs (JSON lines) to a file; :meth:`EventfnProcess.wait_for_log`
polls that file, so tests wait on what the process said instead of sleeping.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from worker_runtime.testing.waiting import wait_until

__all__ = ["EventfnProcess", "ProcessFailed"]

_EVENTFN = [sys.executable, "-c", "from broker_bridge.cli import main; main()"]


class ProcessFailed(AssertionError):
    """An eventfn subprocess exited while a test waited for it."""


class EventfnProcess:
    """One ``eventfn ARGS...`` subprocess with its log file."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        ready_line: str | None = None,
    ) -> None:
        self.args = list(args)
        self.log_path = log_path
        self.env = {**os.environ, "EVENTFN_LOG_FORMAT": "json", **(env or {})}
        self.cwd = cwd
        self.ready_line = ready_line
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> EventfnProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [*_EVENTFN, *self.args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,
        )
        log.close()
        if self.ready_line:
            self.wait_for_log(self.ready_line, timeout=timeout)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None, "process not started"
        return self.proc.pid

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, text: str, *, timeout: float = 60.0, count: int = 1) -> None:
        def seen() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise ProcessFailed(
                    f"{self.args} exited with {self.proc.returncode}:\n{self.log_text()[-4000:]}"
                )
            return self.log_text().count(text) >= count

        wait_until(seen, timeout=timeout, message=lambda: f"{text!r} in {self.log_path}")

    def terminate(self, grace: float = 30.0) -> int:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            return self.kill()

    def kill(self) -> int:
        """SIGKILL the whole process group (a prefork worker's children too)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=30)

    def __enter__(self) -> EventfnProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.terminate()
