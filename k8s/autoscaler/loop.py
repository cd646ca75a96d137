"""The autoscaler control loop: observe each function, decide, actuate; the same loop for
local worker processes (embedded mode) and Kubernetes Deployments.

Public API::

    scaler = Autoscaler(functions, metrics, actuator, interval=2.0, on_decision=None)
    scaler.reconcile_once()               # one pass over every function (tests, dev)
    scaler.activate("resize-image")       # push activation: reconcile it at once
    scaler.run(stop_event)                # poll every `interval` s until stop_event is set

Called by ``eventfn autoscale``, ``eventfn operator`` (Kubernetes actuator, function
set kept in sync with Function resources through :meth:`Autoscaler.set_functions`) and
``eventfn dev`` (in a thread, local actuator). Thread-safe entry points:
:meth:`activate`, :meth:`set_functions`, :meth:`snapshot`; the passes themselves run
in one thread. A function whose queue or replicas cannot be read is skipped for that
pass (never scaled on guesses); the others go on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable

import structlog
from pydantic import BaseModel, ConfigDict

from broker_bridge.health import Health
from k8s.autoscaler.actuator import Actuator
from k8s.autoscaler.observe import build_observation
from k8s.autoscaler.target import ScaledFunction
from k8s.errors import K8sError
from k8s.metrics.stats import MetricsSource
from k8s.scaling import Decision, History, Observation, desired_replicas

__all__ = ["Autoscaler", "FunctionStatus"]

log = structlog.get_logger("eventfn.autoscaler")

#: Activation signals older than this (by their unix ``at``) are ignored as stale.
DEFAULT_ACTIVATION_MAX_AGE = 120.0


class FunctionStatus(BaseModel):
    """The last observation and decision of one function (for status reports)."""

    model_config = ConfigDict(frozen=True)

    function: str
    observation: Observation
    decision: Decision


class Autoscaler:
    """Scales ``functions`` on their queues' depth with one actuator."""

    def __init__(
        self,
        functions: Iterable[ScaledFunction],
        metrics: MetricsSource,
        actuator: Actuator,
        *,
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        activation_max_age: float = DEFAULT_ACTIVATION_MAX_AGE,
        on_decision: Callable[[FunctionStatus], None] | None = None,
        health: Health | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be > 0, got {interval}")
        self.metrics = metrics
        self.actuator = actuator
        self.interval = interval
        self._clock = clock
        self._wall_clock = wall_clock
        self._activation_max_age = activation_max_age
        self._on_decision = on_decision
        #: liveness: the loop beats each turn (at least every 0.25 s); readiness: the
        #: last full pass read every queue and reached the actuator
        self.health = health or Health()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._functions: dict[str, ScaledFunction] = {}
        self._histories: dict[str, History] = {}
        self._activated: set[str] = set()
        self._status: dict[str, FunctionStatus] = {}
        self.passes = 0
        self.set_functions(functions)

    # -- thread-safe entry points ----------------------------------------------------
    def set_functions(self, functions: Iterable[ScaledFunction]) -> None:
        """Replace the set of functions; functions dropped are forgotten by the actuator
        (local replicas stopped) at the next pass."""
        new = {function.name: function for function in functions}
        with self._lock:
            self._functions = new
        self._wake.set()

    def activate(self, function: str, at: float | None = None) -> bool:
        """Push activation: reconcile ``function`` now instead of at the next poll.

        ``at`` is the unix time the bridge routed the event; stale signals and unknown
        functions are ignored (returns whether the signal was taken).
        """
        if at is not None and self._wall_clock() - at > self._activation_max_age:
            log.info("stale activation ignored", function=function, age=self._wall_clock() - at)
            return False
        with self._lock:
            if function not in self._functions:
                log.debug("activation for an unknown function ignored", function=function)
                return False
            self._activated.add(function)
        self._wake.set()
        return True

    def snapshot(self, function: str) -> FunctionStatus | None:
        with self._lock:
            return self._status.get(function)

    @property
    def functions(self) -> dict[str, ScaledFunction]:
        with self._lock:
            return dict(self._functions)

    # -- the loop --------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Reconcile every function each ``interval`` seconds, and activated ones at
        once, until ``stop`` is set (checked at least every 0.25 s)."""
        log.info("autoscaler running", interval=self.interval, functions=sorted(self.functions))
        next_poll = self._clock()
        while not stop.is_set():
            self.health.beat("autoscaler")
            try:
                if self._clock() >= next_poll:
                    self.reconcile_once()
                    self.health.set_ready("autoscaler", True)
                    next_poll = self._clock() + self.interval
                else:
                    with self._lock:
                        pending = set(self._activated)
                    if pending:
                        self.reconcile_once(only=pending)
            except Exception:  # a control loop outlives one bad pass; the next one retries
                log.exception("autoscaler pass failed")
                self.health.set_ready("autoscaler", False)
                next_poll = self._clock() + self.interval
            self._wake.wait(timeout=min(0.25, max(0.0, next_poll - self._clock())))
            self._wake.clear()
        self.health.forget("autoscaler")
        log.info("autoscaler stopped")

    def reconcile_once(
        self, now: float | None = None, only: Collection[str] | None = None
    ) -> dict[str, Decision]:
        """One pass over every function (or those in ``only``); returns the decisions."""
        with self._lock:
            functions = dict(self._functions)
            dropped = [name for name in self._histories if name not in functions]
        for name in dropped:
            self._drop(name)
        decisions: dict[str, Decision] = {}
        for name, function in sorted(functions.items()):
            if only is not None and name not in only:
                continue
            decision = self._reconcile(function, now)
            if decision is not None:
                decisions[name] = decision
        self.passes += 1
        return decisions

    def _reconcile(self, function: ScaledFunction, now: float | None) -> Decision | None:
        bound = log.bind(function=function.name)
        with self._lock:
            activated = function.name in self._activated
            self._activated.discard(function.name)
        try:
            stats = self.metrics.queue_stats(function.queue)
            replicas = self.actuator.observe(function)
        except K8sError as exc:
            bound.warning("cannot observe; skipped this pass", error=str(exc))
            return None
        observation = build_observation(
            self._clock() if now is None else now,
            stats,
            replicas,
            replicas_report_in_flight=self.actuator.reports_in_flight,
            activated=activated,
        )
        decision = desired_replicas(
            observation, function.policy, self._histories.get(function.name)
        )
        self._histories[function.name] = decision.history
        status = FunctionStatus(function=function.name, observation=observation, decision=decision)
        with self._lock:
            self._status[function.name] = status
        if self._on_decision is not None:
            self._on_decision(status)
        if decision.changed or decision.remove:
            bound.info(
                "scaling",
                reason=str(decision.reason),
                replicas=decision.replicas,
                current=decision.current,
                ready=observation.ready,
                unacked=observation.unacked,
                in_flight=observation.in_flight,
                limits=[str(limit) for limit in decision.limits],
                remove=list(decision.remove),
                activated=activated,
            )
            try:
                self.actuator.apply(function, decision)
            except K8sError as exc:
                bound.warning("cannot apply the decision; retried next pass", error=str(exc))
        return decision

    def _drop(self, name: str) -> None:
        self._histories.pop(name, None)
        with self._lock:
            self._status.pop(name, None)
            self._activated.discard(name)
        self.actuator.forget(name)
        log.info("function no longer scaled", function=name)
