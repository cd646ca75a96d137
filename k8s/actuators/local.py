"""Local worker processes: the actuator of the embedded mode (``eventfn dev``/``autoscale``).

Each replica is one ``eventfn worker NAME --functions MODULE,k8s.actuators.probe``
subprocess running one handler at a time (``-c 1``; Celery prefetches one message per
process), in a process group of its own. Scaling down sends SIGTERM to the idle
replicas the decision names: Celery's warm shutdown finishes a running handler and
requeues what was prefetched, so nothing is interrupted or lost; a replica still alive
after its grace period is killed with its children. Exited replicas are reaped on
every observation; one that exited on its own counts as crashed and is replaced by
the loop's next decision, after a back-off that doubles per consecutive crash.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from k8s.actuators.probe import INFLIGHT_DIR_ENV, read_in_flight, reported
from k8s.autoscaler.target import ScaledFunction
from k8s.scaling import Decision, ReplicaState

__all__ = ["EVENTFN_COMMAND", "Exit", "LocalProcessActuator", "Replica"]

log = structlog.get_logger("eventfn.autoscaler.local")

#: How to run ``eventfn`` with this interpreter (no console script needed on PATH).
EVENTFN_COMMAND = (sys.executable, "-c", "from broker_bridge.cli import main; main()")
_PROBE_MODULE = "k8s.actuators.probe"
_MAX_BACKOFF = 30.0


@dataclass
class Replica:
    """One worker process; ``stop_deadline`` is set once SIGTERM was sent."""

    name: str
    function: str
    proc: subprocess.Popen[bytes]
    inflight_dir: Path
    started_at: float
    grace: float = 60.0
    stop_deadline: float | None = None
    signalled: bool = False

    @property
    def stopping(self) -> bool:
        return self.stop_deadline is not None

    @property
    def ready(self) -> bool:
        """The worker reported in (consuming, SIGTERM handled gracefully)."""
        return reported(self.inflight_dir, self.proc.pid)

    def in_flight(self) -> int:
        return read_in_flight(self.inflight_dir)


@dataclass(frozen=True)
class Exit:
    """How a replica ended: its exit ``code`` and whether it was asked to stop."""

    replica: str
    function: str
    code: int
    requested: bool


@dataclass
class _Crashes:
    count: int = 0
    not_before: float = 0.0


@dataclass
class _FunctionState:
    replicas: dict[str, Replica] = field(default_factory=dict)
    crashes: _Crashes = field(default_factory=_Crashes)


class LocalProcessActuator:
    """Starts and stops ``eventfn worker`` processes for each function.

    ``functions_module`` is passed to every worker as ``--functions``; ``broker_url``
    becomes its ``EVENTFN_BROKER_URL``; ``state_dir`` holds the in-flight reports
    (and ``log_dir``, when given, one log file per replica; otherwise workers inherit
    this process's stdout/stderr). ``pool`` is Celery's execution pool.
    """

    reports_in_flight = True

    def __init__(
        self,
        functions_module: str,
        *,
        state_dir: Path,
        broker_url: str | None = None,
        env: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
        pool: str = "prefork",
        restart_backoff: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        command: tuple[str, ...] = EVENTFN_COMMAND,
    ) -> None:
        self.functions_module = functions_module
        self.state_dir = Path(state_dir)
        self.log_dir = log_dir
        self.pool = pool
        self.restart_backoff = restart_backoff
        self._clock = clock
        self._command = command
        self._env = dict(os.environ if env is None else env)
        if broker_url is not None:
            self._env["EVENTFN_BROKER_URL"] = broker_url
        self._functions: dict[str, _FunctionState] = {}
        self._counter = itertools.count(1)
        #: Every replica that ended, in the order it was reaped.
        self.exits: list[Exit] = []
        self._lock = threading.RLock()

    # -- the Actuator interface ------------------------------------------------------
    def observe(self, function: ScaledFunction) -> tuple[ReplicaState, ...]:
        with self._lock:
            state = self._state(function.name)
            self._reap(function.name, state)
            return tuple(
                ReplicaState(name=replica.name, in_flight=replica.in_flight())
                for replica in state.replicas.values()
                if not replica.stopping
            )

    def apply(self, function: ScaledFunction, decision: Decision) -> None:
        with self._lock:
            self._apply(function, decision)

    def _apply(self, function: ScaledFunction, decision: Decision) -> None:
        state = self._state(function.name)
        for name in decision.remove:
            replica = state.replicas.get(name)
            if replica is not None and not replica.stopping:
                self._terminate(replica, function.grace_seconds)
        running = [r for r in state.replicas.values() if not r.stopping]
        missing = decision.replicas - len(running)
        if missing > 0 and self._clock() < state.crashes.not_before:
            log.info(
                "start delayed after crashes",
                function=function.name,
                crashes=state.crashes.count,
                seconds=round(state.crashes.not_before - self._clock(), 2),
            )
            return
        for _ in range(missing):
            self._start(function, state)

    def forget(self, function: str) -> None:
        with self._lock:
            state = self._functions.pop(function, None)
        if state is not None:
            self._stop_all(state, grace=None)

    def close(self, grace: float | None = None) -> None:
        """SIGTERM every replica, wait for each up to its grace (or ``grace``), kill leftovers."""
        with self._lock:
            states = list(self._functions.values())
            self._functions.clear()
        for state in states:
            self._stop_all(state, grace)

    # -- for tests and ``eventfn status`` ----------------------------------------------
    def replicas(self, function: str) -> list[Replica]:
        with self._lock:
            return list(self._state(function).replicas.values())

    def all_replicas(self) -> list[Replica]:
        with self._lock:
            return [r for state in self._functions.values() for r in state.replicas.values()]

    # -- processes -------------------------------------------------------------------
    def _state(self, function: str) -> _FunctionState:
        return self._functions.setdefault(function, _FunctionState())

    def _start(self, target: ScaledFunction, state: _FunctionState) -> Replica:
        function = target.name
        name = f"{function}-{next(self._counter)}"
        inflight_dir = self.state_dir / "replicas" / name
        shutil.rmtree(inflight_dir, ignore_errors=True)
        inflight_dir.mkdir(parents=True, exist_ok=True)
        env = {**self._env, INFLIGHT_DIR_ENV: str(inflight_dir)}
        argv = [
            *self._command,
            "worker",
            function,
            "--functions",
            f"{self.functions_module},{_PROBE_MODULE}",
            "--concurrency",
            "1",
            "--pool",
            self.pool,
        ]
        log_file = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log_file = (self.log_dir / f"{name}.log").open("ab")
        try:
            proc = subprocess.Popen(
                argv,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT if log_file is not None else None,
                start_new_session=True,
            )
        finally:
            if log_file is not None:
                log_file.close()
        replica = Replica(
            name=name,
            function=function,
            proc=proc,
            inflight_dir=inflight_dir,
            started_at=self._clock(),
            grace=target.grace_seconds,
        )
        state.replicas[name] = replica
        log.info("worker started", function=function, replica=name, pid=proc.pid)
        return replica

    def _terminate(self, replica: Replica, grace: float) -> None:
        """SIGTERM now, or as soon as the worker is ready: a worker still starting would
        die of it before Celery installs its warm-shutdown handler."""
        replica.stop_deadline = self._clock() + grace
        self._signal_if_ready(replica)
        log.info("worker stopping", function=replica.function, replica=replica.name)

    def _signal_if_ready(self, replica: Replica) -> None:
        if not replica.signalled and replica.ready:
            replica.signalled = True
            with contextlib.suppress(ProcessLookupError):
                replica.proc.send_signal(signal.SIGTERM)

    def _kill(self, replica: Replica) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(replica.proc.pid, signal.SIGKILL)

    def _reap(self, function: str, state: _FunctionState) -> None:
        now = self._clock()
        for name, replica in list(state.replicas.items()):
            code = replica.proc.poll()
            if code is None:
                if replica.stop_deadline is not None:
                    self._signal_if_ready(replica)
                    if now >= replica.stop_deadline:
                        log.warning("worker did not stop in time; killed", replica=name)
                        self._kill(replica)
                continue
            del state.replicas[name]
            shutil.rmtree(replica.inflight_dir, ignore_errors=True)
            self.exits.append(Exit(name, function, code, replica.stopping))
            if replica.stopping:
                log.info("worker stopped", function=function, replica=name, code=code)
                continue
            state.crashes.count += 1
            delay = min(_MAX_BACKOFF, self.restart_backoff * 2 ** (state.crashes.count - 1))
            state.crashes.not_before = now + delay
            log.error(
                "worker exited unexpectedly; will be replaced",
                function=function,
                replica=name,
                code=code,
                backoff_seconds=delay,
            )
        if state.replicas and any(
            now - r.started_at > _MAX_BACKOFF for r in state.replicas.values() if not r.stopping
        ):
            state.crashes.count = 0  # a replica that lived long enough ends the crash streak

    def _stop_all(self, state: _FunctionState, grace: float | None) -> None:
        replicas = list(state.replicas.values())
        for replica in replicas:  # ready or not: a worker still starting holds no message
            if replica.proc.poll() is None and not replica.signalled:
                replica.signalled = True
                with contextlib.suppress(ProcessLookupError):
                    replica.proc.send_signal(signal.SIGTERM)
        for replica in replicas:
            try:
                replica.proc.wait(timeout=grace if grace is not None else replica.grace)
            except subprocess.TimeoutExpired:
                self._kill(replica)
                replica.proc.wait()
            shutil.rmtree(replica.inflight_dir, ignore_errors=True)
            self.exits.append(Exit(replica.name, replica.function, replica.proc.returncode, True))
        state.replicas.clear()
