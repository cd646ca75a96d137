"""Real ``eventfn`` subprocesses for tests: start, wait until ready, stop, kill.

Each process logs (JSON lines) to a file; :meth:`EventfnProcess.wait_for_log`
polls that file, so tests wait on what the process said instead of sleeping.
Starting, stopping and killing are :class:`worker_runtime.supervisor.ChildProcess`'s.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from worker_runtime.supervisor import ChildProcess
from worker_runtime.testing.waiting import wait_until

__all__ = ["EventfnProcess", "ProcessFailed"]


class ProcessFailed(AssertionError):
    """An eventfn subprocess exited while a test waited for it."""


class EventfnProcess(ChildProcess):
    """One ``eventfn ARGS...`` subprocess with its log file (JSON lines)."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        ready_line: str | None = None,
    ) -> None:
        super().__init__(
            " ".join(args[:2]),
            args,
            env={**os.environ, "EVENTFN_LOG_FORMAT": "json", **(env or {})},
            log_path=log_path,
            cwd=cwd,
        )
        self.log_path: Path = log_path
        self.ready_line = ready_line

    def start(self, timeout: float = 60.0) -> EventfnProcess:
        super().start()
        if self.ready_line:
            self.wait_for_log(self.ready_line, timeout=timeout)
        return self

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

    def __enter__(self) -> EventfnProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.terminate()
