"""The autoscaler loop with a scripted metrics source and a fake actuator (no I/O):
observation assembly, push activation, function set changes, failures skipped."""

from __future__ import annotations

import threading

import pytest

from k8s.autoscaler import (
    Activation,
    Autoscaler,
    ScaledFunction,
    attribute_unacked,
    build_observation,
)
from k8s.errors import ApiServerError, MetricsUnavailable
from k8s.metrics import QueueStats
from k8s.scaling import ReplicaState, ScalingPolicy

POLICY = ScalingPolicy(max_replicas=4, target_backlog=10, cooldown_seconds=5)


class Metrics:
    name = "scripted"
    sees_unacked = True

    def __init__(self):
        self.stats = {}
        self.fail = set()

    def queue_stats(self, queue):
        if queue in self.fail:
            raise MetricsUnavailable(self.name, queue, "down")
        return self.stats.get(queue, QueueStats(queue=queue))

    def close(self):
        pass


class Actuator:
    def __init__(self, reports_in_flight=True):
        self.reports_in_flight = reports_in_flight
        self.replicas = {}
        self.applied = []
        self.forgotten = []
        self.fail_apply = False

    def observe(self, function):
        return tuple(self.replicas.get(function.name, ()))

    def apply(self, function, decision):
        if self.fail_apply:
            raise ApiServerError("deployments/x/scale", 503, "unavailable")
        self.applied.append((function.name, decision.replicas, decision.remove))
        kept = [r for r in self.replicas.get(function.name, ()) if r.name not in decision.remove]
        while len(kept) < decision.replicas:
            kept.append(ReplicaState(name=f"{function.name}-{len(self.applied)}-{len(kept)}"))
        self.replicas[function.name] = kept

    def forget(self, function):
        self.forgotten.append(function)

    def close(self):
        pass


def make(functions=("a",), **kwargs):
    metrics, actuator = Metrics(), Actuator()
    clock = kwargs.pop("clock", lambda: 0.0)
    scaler = Autoscaler(
        [ScaledFunction(name=name, policy=POLICY) for name in functions],
        metrics,
        actuator,
        interval=1.0,
        clock=clock,
        wall_clock=lambda: 1000.0,
        **kwargs,
    )
    return scaler, metrics, actuator


def test_observation_takes_the_larger_of_unacked_and_in_flight():
    replicas = [ReplicaState(name="w1", in_flight=1), ReplicaState(name="w2")]
    amqp = QueueStats(queue="q", ready=3, unacked=None)
    obs = build_observation(1.0, amqp, replicas, replicas_report_in_flight=True)
    assert (obs.ready, obs.unacked, obs.in_flight, obs.work) == (3, 0, 1, 4)
    assert [r.busy for r in obs.replicas] == [True, False]


def test_anonymous_replicas_get_unacked_attributed_conservatively():
    replicas = [ReplicaState(name=f"p{i}") for i in range(3)]
    assert [r.in_flight for r in attribute_unacked(replicas, 2)] == [1, 1, 0]
    assert [r.in_flight for r in attribute_unacked(replicas, 9)] == [1, 1, 1]
    obs = build_observation(
        0.0, QueueStats(queue="q", unacked=2), replicas, replicas_report_in_flight=False
    )
    assert len(obs.busy) == 2  # the busy floor keeps two pods


def test_activation_assumes_one_message_only_from_zero_when_nothing_is_visible():
    empty = QueueStats(queue="q")
    assert (
        build_observation(0, empty, (), replicas_report_in_flight=True, activated=True).ready == 1
    )
    assert build_observation(0, empty, (), replicas_report_in_flight=True).ready == 0
    running = (ReplicaState(name="w"),)
    assert (
        build_observation(0, empty, running, replicas_report_in_flight=True, activated=True).ready
        == 0
    )
    seen = QueueStats(queue="q", ready=7)
    assert build_observation(0, seen, (), replicas_report_in_flight=True, activated=True).ready == 7


def test_a_pass_scales_each_function_on_its_own_queue():
    scaler, metrics, actuator = make(("a", "b"))
    metrics.stats["eventfn.fn.a"] = QueueStats(queue="eventfn.fn.a", ready=25, unacked=0)
    decisions = scaler.reconcile_once(now=10.0)
    assert decisions["a"].replicas == 3
    assert decisions["b"].replicas == 0
    assert actuator.applied == [("a", 3, ())]  # b unchanged: no call
    status = scaler.snapshot("a")
    assert status.observation.ready == 25
    assert status.decision.replicas == 3


def test_activation_reconciles_only_that_function_at_once():
    scaler, _metrics, actuator = make(("a", "b"))
    assert scaler.activate("a", at=999.5)
    assert not scaler.activate("unknown")
    assert not scaler.activate("a", at=1.0)  # stale: older than activation_max_age
    stop = threading.Event()
    seen = []
    scaler._on_decision = lambda status: (seen.append(status.function), stop.set())
    scaler.reconcile_once(only={"a"})
    assert seen == ["a"]
    assert actuator.applied == [("a", 1, ())]  # activated although the queue looked empty


def test_run_wakes_on_activation_without_waiting_for_the_poll():
    scaler, _metrics, actuator = make(("a",))
    scaler.interval = 3600.0  # the poll would never come in this test
    stop = threading.Event()
    decided = threading.Event()
    scaler._on_decision = lambda status: status.decision.replicas and decided.set()
    thread = threading.Thread(target=scaler.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert scaler.activate("a")
        assert decided.wait(timeout=30)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert actuator.applied[0] == ("a", 1, ())


def test_unreadable_metrics_skip_the_function_and_keep_the_others():
    scaler, metrics, actuator = make(("a", "b"))
    metrics.fail.add("eventfn.fn.a")
    metrics.stats["eventfn.fn.b"] = QueueStats(queue="eventfn.fn.b", ready=5)
    decisions = scaler.reconcile_once(now=0.0)
    assert set(decisions) == {"b"}
    assert actuator.applied == [("b", 1, ())]


def test_a_failed_apply_is_logged_and_retried_next_pass():
    scaler, metrics, actuator = make(("a",))
    metrics.stats["eventfn.fn.a"] = QueueStats(queue="eventfn.fn.a", ready=5)
    actuator.fail_apply = True
    assert scaler.reconcile_once(now=0.0)["a"].replicas == 1
    actuator.fail_apply = False
    assert scaler.reconcile_once(now=1.0)["a"].replicas == 1
    assert actuator.applied == [("a", 1, ())]


def test_functions_removed_from_the_set_are_forgotten():
    scaler, _metrics, actuator = make(("a", "b"))
    scaler.reconcile_once(now=0.0)
    scaler.set_functions([ScaledFunction(name="b")])
    scaler.reconcile_once(now=1.0)
    assert actuator.forgotten == ["a"]
    assert scaler.snapshot("a") is None


def test_history_is_kept_per_function_across_passes():
    scaler, metrics, _actuator = make(("a",))
    metrics.stats["eventfn.fn.a"] = QueueStats(queue="eventfn.fn.a", ready=30)
    assert scaler.reconcile_once(now=0.0)["a"].replicas == 3
    metrics.stats["eventfn.fn.a"] = QueueStats(queue="eventfn.fn.a")
    # idle: the stabilization window (60 s) remembers the 3, then the cooldown allows zero
    assert scaler.reconcile_once(now=1.0)["a"].replicas == 3
    assert scaler.reconcile_once(now=3.0)["a"].replicas == 3
    assert scaler.reconcile_once(now=62.0)["a"].replicas == 0


def test_activation_messages_parse_strictly():
    activation = Activation.from_body(b'{"function": "resize-image", "at": 1764000000.25}')
    assert (activation.function, activation.at) == ("resize-image", 1764000000.25)
    assert Activation.from_body(activation.to_json()) == activation
    assert Activation.from_body({"function": "a", "at": 1, "extra": True}).function == "a"
    for bad in (b"not json", b'{"at": 1}', b'{"function": "Bad_Name", "at": 1}', b"[1]"):
        with pytest.raises(ValueError, match=r"."):
            Activation.from_body(bad)


def test_interval_must_be_positive():
    with pytest.raises(ValueError, match="interval"):
        Autoscaler([], Metrics(), Actuator(), interval=0)
