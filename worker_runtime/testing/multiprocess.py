"""The ``eventfn_processes`` fixture's harness: real ``eventfn`` processes on a real broker.

Starts ``eventfn bridge`` and one ``eventfn worker NAME`` per function (the same
commands a deployment runs), with ``EVENTFN_RECORD_FILE`` set so every worker
appends one JSON line per finished delivery (:mod:`worker_runtime.recording`);
the harness reads that file to answer :meth:`~Harness.wait_for` and
:meth:`~Harness.handled`. Retries keep their real backoff delays here.

On a broker given by URL (RabbitMQ, Redis) the eventfn queues of the loaded
functions and the bridge's input queue are purged first, so events left over by
an earlier run are not counted: point it at a test broker or vhost.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Self

from kombu import Queue

from broker_bridge import topology
from broker_bridge.config import Settings
from broker_bridge.connection import connect
from broker_bridge.transport import sqlite
from worker_runtime.registry import Registry
from worker_runtime.testing.harness import Harness
from worker_runtime.testing.processes import EventfnProcess, ProcessFailed
from worker_runtime.testing.records import Attempt, attempt_from_json
from worker_runtime.testing.waiting import wait_until

__all__ = ["ProcessHarness"]

#: Seconds each process gets to become ready (a loaded CI machine is slow to fork).
STARTUP_TIMEOUT = 180.0
#: Seconds each process gets to stop after SIGTERM before it is killed.
STOP_GRACE = 60.0


class _RecordFile:
    """Reads a growing JSON lines file incrementally (complete lines only)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._attempts: list[Attempt] = []

    def read(self) -> list[Attempt]:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            return list(self._attempts)
        end = chunk.rfind(b"\n")
        if end >= 0:
            self._offset += end + 1
            for line in chunk[: end + 1].splitlines():
                if line.strip():
                    self._attempts.append(attempt_from_json(json.loads(line)))
        return list(self._attempts)


class ProcessHarness(Harness):
    """``eventfn bridge`` + ``eventfn worker NAME`` subprocesses for ``functions``.

    ``functions`` is the ``--functions`` value (a module importable from ``cwd`` or
    ``python_path``, or a .py path); ``registry`` the same functions loaded in this
    process. ``broker_url`` None means an embedded broker under ``work_dir``.
    """

    def __init__(
        self,
        registry: Registry,
        functions: str,
        work_dir: Path,
        *,
        broker_url: str | None = None,
        cwd: Path | None = None,
        python_path: list[str] | None = None,
        env: Mapping[str, str] | None = None,
        worker_args: list[str] | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        sqlite.register()
        self.work_dir = Path(work_dir).resolve()
        self.embedded = broker_url is None
        url = broker_url or f"sqlite://localhost/{self.work_dir / 'state' / 'broker.db'}"
        super().__init__(
            registry,
            Settings(broker_url=url, state_dir=self.work_dir / "state", publish_timeout=30.0),
        )
        self.functions_arg = functions
        self.cwd = cwd or Path.cwd()
        self.record_file = self.work_dir / "records.jsonl"
        self.worker_args = list(worker_args or [])
        self.startup_timeout = startup_timeout
        self.fast_retries = False  # real workers wait out every backoff delay
        paths = [*(python_path or []), os.environ.get("PYTHONPATH", "")]
        self.env = {
            "EVENTFN_BROKER_URL": url,
            "EVENTFN_STATE_DIR": str(self.work_dir / "state"),
            "EVENTFN_RECORD_FILE": str(self.record_file),
            "EVENTFN_LOG_FORMAT": "json",
            "PYTHONPATH": os.pathsep.join(p for p in paths if p),
            **(env or {}),
        }
        self.bridge: EventfnProcess | None = None
        self.workers: dict[str, EventfnProcess] = {}
        self._records = _RecordFile(self.record_file)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> Self:
        super().start()
        try:
            self._start_processes()
        except BaseException:
            self.close()
            raise
        return self

    def _start_processes(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        if not self.embedded:
            self.purge()
        self.bridge = self._process("bridge", ["bridge", "--functions", self.functions_arg])
        for name in self.functions:
            self.workers[name] = self._process(
                f"worker-{name}",
                ["worker", name, "--functions", self.functions_arg, *self.worker_args],
            )
        for process in self.processes:
            process.start()
        self.bridge.wait_for_log("bridge consuming", timeout=self.startup_timeout)
        for worker in self.workers.values():
            worker.wait_for_log("ready.", timeout=self.startup_timeout)

    @property
    def processes(self) -> list[EventfnProcess]:
        """The bridge and the workers."""
        return [*([self.bridge] if self.bridge else []), *self.workers.values()]

    def _process(self, label: str, args: list[str]) -> EventfnProcess:
        return EventfnProcess(
            args, log_path=self.work_dir / f"{label}.log", env=self.env, cwd=self.cwd
        )

    def purge(self) -> None:
        """Empty the bridge's input and the loaded functions' queues and DLQs."""
        names = [topology.BRIDGE_QUEUE]
        for name in self.functions:
            names += [topology.function_queue_name(name), topology.function_dlq_name(name)]
        with connect(self.settings) as conn:
            conn.ensure_connection(max_retries=3)
            channel = conn.channel()
            for queue_name in names:
                queue = Queue(queue_name, exchange="", routing_key=queue_name, durable=True)
                bound = queue(channel)
                bound.declare()
                bound.purge()

    def close(self) -> None:
        """SIGTERM every process at once, then wait for each (SIGKILL after the grace)."""
        running = [p for p in self.processes if p.proc is not None and p.proc.poll() is None]
        for process in running:
            assert process.proc is not None
            with contextlib.suppress(ProcessLookupError):
                process.proc.send_signal(signal.SIGTERM)
        for process in running:
            assert process.proc is not None
            try:
                process.proc.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                process.kill()
        super().close()

    # -- records -------------------------------------------------------------------------
    def attempts(self) -> list[Attempt]:
        return self._records.read()

    def _wait(
        self, condition: Callable[[], bool], timeout: float, message: Callable[[], str]
    ) -> None:
        def ready() -> bool:
            self.check_alive()
            return condition()

        wait_until(ready, timeout=timeout, interval=0.02, message=message)

    def check_alive(self) -> None:
        """Raise ProcessFailed when one of the processes has exited."""
        for process in self.processes:
            proc = process.proc
            if proc is not None and proc.poll() is not None:
                raise ProcessFailed(
                    f"eventfn {' '.join(process.args[:2])} exited with {proc.returncode}; its log "
                    f"({process.log_path}) ends with:\n{process.log_text()[-3000:]}"
                )

    def diagnostics(self) -> str:
        logs = ", ".join(str(p.log_path) for p in self.processes)
        return f"process logs: {logs}" if logs else ""

    def log_text(self, function: str | None = None) -> str:
        """The log of a function's worker, or of the bridge (``function`` None)."""
        process = self.workers[function] if function is not None else self.bridge
        return process.log_text() if process is not None else ""
