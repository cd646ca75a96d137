"""The one child-process supervisor: ``eventfn ARGS`` subprocesses, started, restarted,
stopped (in parallel) and killed the same way everywhere.

Used by ``eventfn dev`` (the ingress and the bridge, :mod:`k8s.dev.server`), the local
actuator (one worker per replica, :mod:`k8s.actuators.local`) and the testing kit
(:class:`worker_runtime.testing.EventfnProcess`). Each child runs in a session (and
process group) of its own, so a Ctrl-C on the terminal reaches only the parent, which
stops its children in order: SIGTERM first (the ingress drains, the bridge finishes
its batch, a worker its handler), SIGKILL of the whole group after the grace.
:func:`stop_all` signals every child first and then waits for all of them against one
deadline, so stopping N children takes as long as the slowest, not the sum.

Children die with their parent: on Linux each child asks the kernel for SIGTERM when
the thread that started it ends (``prctl(PR_SET_PDEATHSIG)``, set between fork and
exec), so a SIGKILLed ``eventfn dev`` leaves no worker, bridge or ingress running
(each still stops gracefully: SIGTERM, not SIGKILL). Start children from a thread
that outlives them (dev's main thread, the autoscaler's loop thread), or pass
``die_with_parent=False``.

A child that exits on its own is started again by :meth:`ChildProcess.check` when it
was created with ``restart_backoff``: after a back-off that doubles per consecutive
crash (up to 30 s) and resets once it stayed up for 30 s.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import structlog

__all__ = ["EVENTFN_COMMAND", "ChildProcess", "pid_alive", "stop_all"]

log = structlog.get_logger("eventfn.supervisor")

#: How to run ``eventfn`` with this interpreter (no console script needed on PATH).
EVENTFN_COMMAND = (sys.executable, "-c", "from broker_bridge.cli import main; main()")

_MAX_BACKOFF = 30.0
_HEALTHY_AFTER = 30.0
_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    """libc's ``prctl`` (looked up once, here: not between fork and exec)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


_PRCTL = _load_prctl()


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn``: SIGTERM this child when its parent ends (and at once when
    the parent already ended before the request took effect)."""
    prctl = _PRCTL
    if prctl is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists (a zombie counts until it is reaped), also one we may
    not signal."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ChildProcess:
    """One ``eventfn ARGS`` subprocess (``command`` replaces ``eventfn``).

    ``log_path``: append its stdout and stderr there (``None``: inherit this
    process's). ``restart_backoff``: restart it from :meth:`check` when it exits on
    its own (``None``: never). ``die_with_parent``: SIGTERM it when the starting
    thread ends (Linux).
    """

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        cwd: Path | None = None,
        command: Sequence[str] = EVENTFN_COMMAND,
        restart_backoff: float | None = None,
        die_with_parent: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.die_with_parent = die_with_parent
        self.args = list(args)
        self.env = dict(os.environ if env is None else env)
        self.log_path = log_path
        self.cwd = cwd
        self.command = list(command)
        self.restart_backoff = restart_backoff
        self._clock = clock
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.restarts = 0
        self.stopping = False
        self.signalled = False
        self._crashes = 0
        self._restart_at: float | None = None

    # -- state -------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} not started"
        return self.proc.pid

    @property
    def started(self) -> bool:
        return self.proc is not None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def poll(self) -> int | None:
        """The exit code once it exited (and reaps it), else ``None``."""
        return self.proc.poll() if self.proc is not None else None

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode if self.proc is not None else None

    # -- life cycle --------------------------------------------------------------------
    def start(self) -> ChildProcess:
        self.stopping = False
        self.signalled = False
        output = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            output = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen(
                [*self.command, *self.args],
                env=self.env,
                cwd=self.cwd,
                stdout=output,
                stderr=subprocess.STDOUT if output is not None else None,
                start_new_session=True,
                preexec_fn=_die_with_parent() if self.die_with_parent else None,  # noqa: PLW1509 - only prctl, looked up before fork
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
        if self.restart_backoff is None or self.stopping or self.proc is None:
            return
        code = self.proc.poll()
        if code is None:
            return
        now = self._clock()
        if self._restart_at is None:
            self._crashes = 1 if now - self.started_at >= _HEALTHY_AFTER else self._crashes + 1
            delay = min(_MAX_BACKOFF, self.restart_backoff * 2 ** (self._crashes - 1))
            self._restart_at = now + delay
            log.error("process exited; restarting", process=self.name, code=code, in_seconds=delay)
            return
        if now >= self._restart_at:
            self.restarts += 1
            self.start()

    def signal_stop(self) -> None:
        """Ask it to stop (SIGTERM) without waiting; no restart after this."""
        self.stopping = True
        if self.alive and not self.signalled:
            self.signalled = True
            with contextlib.suppress(ProcessLookupError):
                self.pid_signal(signal.SIGTERM)

    def pid_signal(self, signum: int) -> None:
        """Send ``signum`` to the process itself (not its group)."""
        if self.proc is not None:
            self.proc.send_signal(signum)

    def wait(self, timeout: float | None) -> int | None:
        """Wait up to ``timeout`` s for it to exit; SIGKILL it (and its group) after."""
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log.warning("process did not stop in time; killed", process=self.name)
            return self.kill()

    def terminate(self, grace: float = 30.0) -> int:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL; returns the exit code."""
        if self.proc is None:
            return 0
        self.signal_stop()
        code = self.wait(grace)
        return 0 if code is None else code

    def kill(self) -> int:
        """SIGKILL the whole process group (a prefork worker's children too) and reap it."""
        self.kill_now()
        if self.proc is None:
            return 0
        return self.proc.wait(timeout=30)

    def kill_now(self) -> None:
        """SIGKILL the whole group without waiting (safe in a signal handler)."""
        self.stopping = True
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)


def stop_all(
    children: Iterable[ChildProcess], grace: float | Callable[[ChildProcess], float]
) -> None:
    """SIGTERM every child at once, then wait for all of them until each one's grace
    (one number, or per child) ran out since the signal; SIGKILL those still alive."""
    started = [child for child in children if child.started]
    for child in started:
        child.signal_stop()
    now = time.monotonic()
    deadlines = [(child, now + (grace(child) if callable(grace) else grace)) for child in started]
    for child, deadline in sorted(deadlines, key=lambda pair: pair[1]):
        child.wait(max(0.0, deadline - time.monotonic()))
