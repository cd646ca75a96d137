"""The local actuator with stand-in worker processes: start, in-flight reports, SIGTERM
of the replicas named, kill after the grace period, crash back-off, graceful close."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from k8s.actuators import LocalProcessActuator
from k8s.actuators.local import read_in_flight
from k8s.autoscaler import ScaledFunction
from k8s.scaling import Decision, History, Reason
from worker_runtime.testing import wait_until

pytestmark = pytest.mark.integration

FAKE = str(Path(__file__).with_name("k8s_fake_worker.py"))


def decision(replicas, current, remove=()):
    reason = Reason.SCALE_UP if replicas > current else Reason.SCALE_DOWN
    return Decision(
        replicas=replicas,
        current=current,
        recommended=replicas,
        reason=reason,
        remove=tuple(remove),
        history=History(),
    )


@pytest.fixture
def make(tmp_path):
    made = []

    def build(mode="idle", **kwargs):
        env = {**os.environ, "FAKE_WORKER_MODE": mode, "FAKE_WORKER_ARGS": str(tmp_path / "args")}
        actuator = LocalProcessActuator(
            "my.functions",
            state_dir=tmp_path / "state",
            broker_url="sqlite://localhost//tmp/x.db",
            env=env,
            command=(sys.executable, FAKE),
            **kwargs,
        )
        made.append(actuator)
        return actuator

    yield build
    for actuator in made:
        actuator.close(grace=5)


def live(actuator, function):
    return actuator.observe(function)


def started(actuator):
    """Every replica has reported (its SIGTERM handler is installed)."""
    wait_until(
        lambda: all(r.ready for r in actuator.all_replicas()),
        timeout=30,
    )


def test_starts_workers_and_reads_their_in_flight_gauges(make, tmp_path):
    fn = ScaledFunction(name="resize-image")
    actuator = make("busy")
    actuator.apply(fn, decision(2, 0))
    wait_until(lambda: sum(r.in_flight for r in live(actuator, fn)) == 2, timeout=30)
    states = live(actuator, fn)
    assert [r.name for r in states] == ["resize-image-1", "resize-image-2"]
    assert all(r.busy for r in states)
    argv = json.loads((tmp_path / "args").read_text().splitlines()[0])
    assert argv == [
        "worker",
        "resize-image",
        "--functions",
        "my.functions",
        "--concurrency",
        "1",
        "--pool",
        "prefork",
    ]


def test_scale_down_terminates_only_the_named_replicas(make):
    fn = ScaledFunction(name="a")
    actuator = make("idle")
    actuator.apply(fn, decision(3, 0))
    assert len(live(actuator, fn)) == 3
    started(actuator)
    actuator.apply(fn, decision(1, 3, remove=["a-2", "a-3"]))
    assert [r.name for r in live(actuator, fn)] == ["a-1"]  # stopping ones are not counted
    wait_until(lambda: live(actuator, fn) and len(actuator.exits) == 2, timeout=30)
    assert [r.name for r in actuator.all_replicas()] == ["a-1"]
    assert {(e.replica, e.code, e.requested) for e in actuator.exits} == {
        ("a-2", 0, True),
        ("a-3", 0, True),
    }


def test_a_replica_ignoring_sigterm_is_killed_after_its_grace(make):
    fn = ScaledFunction(name="a", grace_seconds=0.5)
    actuator = make("stubborn")
    actuator.apply(fn, decision(1, 0))
    (replica,) = live(actuator, fn)
    started(actuator)
    assert read_in_flight(actuator.replicas("a")[0].metrics_dir) == 0
    actuator.apply(fn, decision(0, 1, remove=[replica.name]))
    wait_until(lambda: (live(actuator, fn), actuator.exits)[1], timeout=30, interval=0.1)
    (exit_,) = actuator.exits
    assert exit_.requested
    assert exit_.code == -9


def test_crashed_replicas_are_reaped_and_restarts_back_off(make):
    fn = ScaledFunction(name="a")
    now = [100.0]
    actuator = make("crash", restart_backoff=10.0, clock=lambda: now[0])
    actuator.apply(fn, decision(1, 0))
    wait_until(lambda: live(actuator, fn) == () and actuator.exits, timeout=30)
    assert actuator.exits[0].requested is False
    assert actuator.exits[0].code == 3
    actuator.apply(fn, decision(1, 0))  # inside the back-off: nothing started
    assert actuator.all_replicas() == []
    now[0] += 10.5
    actuator.apply(fn, decision(1, 0))
    assert len(actuator.all_replicas()) == 1


def test_close_stops_everything_gracefully(make):
    fn = ScaledFunction(name="a")
    actuator = make("idle")
    actuator.apply(fn, decision(2, 0))
    started(actuator)
    procs = [r.proc for r in actuator.all_replicas()]
    actuator.close()
    assert [p.returncode for p in procs] == [0, 0]
    assert actuator.all_replicas() == []


def test_forget_stops_a_functions_replicas(make):
    a, b = ScaledFunction(name="a"), ScaledFunction(name="b")
    actuator = make("idle")
    actuator.apply(a, decision(1, 0))
    actuator.apply(b, decision(1, 0))
    actuator.forget("a")
    assert [r.function for r in actuator.all_replicas()] == ["b"]


def test_a_replica_still_starting_is_signalled_once_ready(make):
    fn = ScaledFunction(name="a")
    actuator = make("slow")
    actuator.apply(fn, decision(1, 0))
    (replica,) = actuator.all_replicas()
    actuator.apply(fn, decision(0, 1, remove=["a-1"]))
    assert not replica.process.signalled  # not ready: SIGTERM deferred
    wait_until(lambda: (live(actuator, fn), actuator.exits)[1], timeout=30, interval=0.05)
    assert replica.process.signalled
    assert [(e.code, e.requested) for e in actuator.exits] == [(0, True)]
