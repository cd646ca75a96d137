"""The long-running subprocesses of ``eventfn dev`` (ingress, bridge), restarted when
they die, and the clean-up of those a killed ``eventfn dev`` left behind.

Each runs as ``eventfn ingress|bridge ...`` in a session of its own, so a Ctrl-C on
the terminal reaches only ``eventfn dev``, which then stops them in order (SIGTERM:
the ingress drains its requests, the bridge finishes its batch). A process that
exits on its own is started again after a back-off that doubles per consecutive
crash (1 s up to 30 s) and resets once it stayed up for 30 s.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import structlog

from k8s.actuators.local import EVENTFN_COMMAND
from k8s.devserver.state import orphans
from k8s.pids import pid_alive

__all__ = ["Supervised", "stop_orphans"]

log = structlog.get_logger("eventfn.dev")

_MAX_BACKOFF = 30.0
_HEALTHY_AFTER = 30.0
_ORPHAN_GRACE = 60.0


class Supervised:
    """One ``eventfn ARGS`` subprocess; :meth:`check` restarts it when it died.

    ``log_path``: append its output there (``None``: inherit this process's stdout
    and stderr).
    """

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        *,
        env: Mapping[str, str],
        log_path: Path | None = None,
        backoff: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.args = list(args)
        self.env = dict(env)
        self.log_path = log_path
        self.backoff = backoff
        self._clock = clock
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.restarts = 0
        self._crashes = 0
        self._restart_at: float | None = None
        self.stopping = False

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> Supervised:
        self.stopping = False
        output = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            output = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen(
                [*EVENTFN_COMMAND, *self.args],
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT if output is not None else None,
                start_new_session=True,
            )
        finally:
            if output is not None:
                output.close()
        self.started_at = self._clock()
        self._restart_at = None
        log.debug("process started", process=self.name, pid=self.proc.pid)
        return self

    def check(self) -> None:
        """Restart the process if it exited on its own (after its back-off)."""
        if self.stopping or self.proc is None:
            return
        code = self.proc.poll()
        if code is None:
            return
        now = self._clock()
        if self._restart_at is None:
            self._crashes = 1 if now - self.started_at >= _HEALTHY_AFTER else self._crashes + 1
            delay = min(_MAX_BACKOFF, self.backoff * 2 ** (self._crashes - 1))
            self._restart_at = now + delay
            log.error("process exited; restarting", process=self.name, code=code, in_seconds=delay)
            return
        if now >= self._restart_at:
            self.restarts += 1
            self.start()

    def terminate(self) -> None:
        """Ask it to stop (SIGTERM) without waiting; no restart after this."""
        self.stopping = True
        if self.alive and self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` s for it to exit; SIGKILL it (and its group) after."""
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log.warning("process did not stop in time; killed", process=self.name)
            self.kill()
            return self.proc.wait()

    def kill(self) -> None:
        self.stopping = True
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def stop(self, grace: float) -> int | None:
        self.terminate()
        return self.wait(grace)


def stop_orphans(state_dir: Path, grace: float = _ORPHAN_GRACE) -> list[int]:
    """Stop what a killed ``eventfn dev`` left running on ``state_dir`` (it would hold
    the port and consume the queues with stale code): SIGTERM to each process group,
    SIGKILL after ``grace`` seconds. Returns their pids."""
    pids = orphans(state_dir)
    if not pids:
        return []
    log.warning("stopping processes left by a killed eventfn dev", pids=pids)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(pid_alive(pid) for pid in pids):
        time.sleep(0.1)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    return pids
