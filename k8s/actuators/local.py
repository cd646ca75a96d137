"""Local worker processes: the actuator of the embedded mode (``eventfn dev``/``autoscale``).

Each replica is one ``eventfn worker NAME --functions MODULE`` subprocess
(:class:`worker_runtime.supervisor.ChildProcess`) running one handler at a time
(``-c 1``; Celery prefetches one message per process), in a process group of its own.
Its ``PROMETHEUS_MULTIPROC_DIR`` is a directory of its own, where the worker's
in-flight gauge (``eventfn_handlers_in_flight``, :mod:`worker_runtime.metrics`) tells
which replica is busy without asking the broker (AMQP cannot tell, and no broker can
tell *which* consumer holds a message); the worker sets that gauge to zero once it
consumes, so a sample of the worker's own pid also means "ready, stoppable".

Scaling down sends SIGTERM to the idle replicas the decision names: Celery's warm
shutdown finishes a running handler and requeues what was prefetched, so nothing is
interrupted or lost; a replica still alive after its grace period is killed with its
children. Exited replicas are reaped on every observation; one that exited on its own
counts as crashed and is replaced by the loop's next decision, after a back-off that
doubles per consecutive crash. :meth:`LocalProcessActuator.close` stops every replica
of every function at once (:func:`worker_runtime.supervisor.stop_all`).
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from prometheus_client.multiprocess import MultiProcessCollector

from k8s.autoscaler.target import ScaledFunction
from k8s.scaling import Decision, ReplicaState
from worker_runtime.supervisor import EVENTFN_COMMAND, ChildProcess, pid_alive, stop_all

__all__ = [
    "EVENTFN_COMMAND",
    "MULTIPROC_ENV",
    "Exit",
    "LocalProcessActuator",
    "Replica",
    "read_in_flight",
    "reported",
]

log = structlog.get_logger("eventfn.autoscaler.local")

#: The variable prometheus_client reads (at import) to write multiprocess files.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_IN_FLIGHT = "eventfn_handlers_in_flight"
_MAX_BACKOFF = 30.0


def _gauge_files(directory: Path, pid: int | None = None) -> list[str]:
    """The live processes' gauge files in ``directory`` (only ``pid``'s when given)."""
    if not directory.is_dir():
        return []
    files = []
    for path in directory.glob("gauge_livesum_*.db"):
        owner = path.stem.rsplit("_", 1)[-1]
        if not owner.isdigit() or (pid is not None and int(owner) != pid):
            continue
        if pid_alive(int(owner)):
            files.append(str(path))
    return files


def _in_flight_samples(files: list[str]) -> list[float] | None:
    if not files:
        return []
    try:
        families = MultiProcessCollector.merge(files, accumulate=False)  # type: ignore[no-untyped-call]
    except (OSError, ValueError, KeyError):  # a file caught half-written
        return None
    return [
        sample.value
        for family in families
        for sample in family.samples
        if sample.name == _IN_FLIGHT
    ]


def read_in_flight(directory: Path) -> int:
    """Handlers running in the live processes whose gauges are in ``directory`` (a dead
    process's handler is not running any more)."""
    samples = _in_flight_samples(_gauge_files(directory))
    return int(sum(samples or ()))


def reported(directory: Path, pid: int) -> bool:
    """Whether worker ``pid`` has set its in-flight gauge (it consumes, SIGTERM is safe)."""
    return bool(_in_flight_samples(_gauge_files(directory, pid)))


@dataclass
class Replica:
    """One worker process; ``stop_deadline`` is set once SIGTERM was asked for."""

    name: str
    function: str
    process: ChildProcess
    metrics_dir: Path
    started_at: float
    grace: float = 60.0
    stop_deadline: float | None = None

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        assert self.process.proc is not None  # started when the replica was made
        return self.process.proc

    @property
    def stopping(self) -> bool:
        return self.stop_deadline is not None

    @property
    def ready(self) -> bool:
        """The worker reported in (consuming, SIGTERM handled gracefully)."""
        return reported(self.metrics_dir, self.proc.pid)

    def in_flight(self) -> int:
        return read_in_flight(self.metrics_dir)


@dataclass(frozen=True)
class Exit:
    """How a replica ended: its exit ``code`` and whether it was asked to stop."""

    replica: str
    function: str
    code: int
    requested: bool


class LocalProcessActuator:
    """Starts and stops ``eventfn worker`` processes for each function.

    ``functions_module`` is passed to every worker as ``--functions``; ``broker_url``
    becomes its ``EVENTFN_BROKER_URL``. Each replica's metrics files go to a directory
    of its own under ``metrics_dir``; given, they are kept after the replica exited
    (``eventfn dev`` sums its counters across restarts), otherwise they live under
    ``state_dir`` and are removed with the replica. ``log_dir``, when given, gets one
    log file per replica; otherwise workers inherit this process's stdout/stderr.
    ``pool`` is Celery's execution pool.
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
        metrics_dir: Path | None = None,
        pool: str = "prefork",
        restart_backoff: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        command: tuple[str, ...] = EVENTFN_COMMAND,
    ) -> None:
        self.functions_module = functions_module
        self.state_dir = Path(state_dir)
        self.log_dir = log_dir
        self.keep_metrics = metrics_dir is not None
        self.metrics_dir = Path(metrics_dir) if metrics_dir else self.state_dir / "replicas"
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
            self._stop_all(list(state.replicas.values()), grace=None)

    def close(self, grace: float | None = None) -> None:
        """SIGTERM every replica of every function at once, wait for all of them up to
        each one's grace (or ``grace``), kill leftovers."""
        with self._lock:
            replicas = [r for state in self._functions.values() for r in state.replicas.values()]
            self._functions.clear()
        self._stop_all(replicas, grace)

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
        metrics_dir = self.metrics_dir / name
        if not self.keep_metrics:
            shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True, exist_ok=True)
        args = [
            "worker",
            function,
            "--functions",
            self.functions_module,
            "--concurrency",
            "1",
            "--pool",
            self.pool,
        ]
        process = ChildProcess(
            name,
            args,
            env={**self._env, MULTIPROC_ENV: str(metrics_dir)},
            log_path=self.log_dir / f"{name}.log" if self.log_dir is not None else None,
            command=self._command,
            clock=self._clock,
        ).start()
        replica = Replica(
            name=name,
            function=function,
            process=process,
            metrics_dir=metrics_dir,
            started_at=self._clock(),
            grace=target.grace_seconds,
        )
        state.replicas[name] = replica
        log.info("worker started", function=function, replica=name, pid=process.pid)
        return replica

    def _terminate(self, replica: Replica, grace: float) -> None:
        """SIGTERM now, or as soon as the worker is ready: a worker still starting would
        die of it before Celery installs its warm-shutdown handler."""
        replica.stop_deadline = self._clock() + grace
        self._signal_if_ready(replica)
        log.info("worker stopping", function=replica.function, replica=replica.name)

    def _signal_if_ready(self, replica: Replica) -> None:
        if not replica.process.signalled and replica.ready:
            replica.process.signal_stop()

    def _forget_files(self, replica: Replica) -> None:
        if not self.keep_metrics:
            shutil.rmtree(replica.metrics_dir, ignore_errors=True)

    def _reap(self, function: str, state: _FunctionState) -> None:
        now = self._clock()
        for name, replica in list(state.replicas.items()):
            code = replica.process.poll()
            if code is None:
                if replica.stop_deadline is not None:
                    self._signal_if_ready(replica)
                    if now >= replica.stop_deadline:
                        log.warning("worker did not stop in time; killed", replica=name)
                        replica.process.kill_now()
                continue
            del state.replicas[name]
            self._forget_files(replica)
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

    def _stop_all(self, replicas: list[Replica], grace: float | None) -> None:
        # ready or not: a worker still starting holds no message
        graces = {replica.process.name: replica.grace for replica in replicas}
        stop_all(
            [replica.process for replica in replicas],
            grace if grace is not None else lambda child: graces[child.name],
        )
        for replica in replicas:
            self._forget_files(replica)
            code = replica.process.returncode
            self.exits.append(
                Exit(replica.name, replica.function, -9 if code is None else code, True)
            )


@dataclass
class _Crashes:
    count: int = 0
    not_before: float = 0.0


@dataclass
class _FunctionState:
    replicas: dict[str, Replica] = field(default_factory=dict)
    crashes: _Crashes = field(default_factory=_Crashes)
