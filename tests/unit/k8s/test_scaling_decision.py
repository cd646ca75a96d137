"""desired_replicas over scripted observation sequences: burst, trickle, idle, flapping,
and "never scale to zero (or remove a busy replica) while a handler runs"."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import ValidationError

from k8s.scaling import (
    Decision,
    History,
    Limit,
    Observation,
    Reason,
    ReplicaState,
    ScalingPolicy,
    desired_replicas,
    drain_replicas,
)


def replicas(n: int, busy: dict[int, int] | None = None) -> tuple[ReplicaState, ...]:
    busy = busy or {}
    return tuple(ReplicaState(name=f"w{i}", in_flight=busy.get(i, 0)) for i in range(n))


@dataclass
class Cluster:
    """A fake world: applies each decision by adding or removing the named replicas."""

    policy: ScalingPolicy
    names: list[str]
    history: History | None = None
    counter: int = 0

    def step(self, at: float, ready: int = 0, unacked: int = 0, busy=None, **kw) -> Decision:
        busy = busy or {}
        obs = Observation(
            at=at,
            ready=ready,
            unacked=unacked,
            replicas=tuple(ReplicaState(name=n, in_flight=busy.get(n, 0)) for n in self.names),
            **kw,
        )
        decision = desired_replicas(obs, self.policy, self.history)
        self.history = decision.history
        for name in decision.remove:
            assert busy.get(name, 0) == 0, f"decision removed busy replica {name}"
            self.names.remove(name)
        while len(self.names) < decision.replicas:
            self.counter += 1
            self.names.append(f"p{self.counter}")
        assert len(self.names) == decision.replicas
        return decision


def run(cluster: Cluster, script: list[tuple[float, int]]) -> list[int]:
    return [cluster.step(at, ready=ready).replicas for at, ready in script]


# -- burst ---------------------------------------------------------------------------


def test_burst_scales_up_in_capped_steps_to_max():
    policy = ScalingPolicy(max_replicas=10, target_backlog=10, scale_up_max_step=4)
    cluster = Cluster(policy, names=[])
    counts = run(cluster, [(t, 1000) for t in range(0, 50, 10)])
    assert counts == [4, 8, 10, 10, 10]


def test_burst_first_decision_is_activation_then_scale_up():
    cluster = Cluster(ScalingPolicy(target_backlog=10), names=[])
    first = cluster.step(0, ready=35)
    assert (first.reason, first.replicas, first.recommended) == (Reason.ACTIVATE, 4, 4)
    second = cluster.step(10, ready=80)
    assert (second.reason, second.replicas) == (Reason.SCALE_UP, 8)


def test_step_cap_is_reported():
    decision = desired_replicas(
        Observation(at=0, ready=500), ScalingPolicy(target_backlog=10, scale_up_max_step=2)
    )
    assert decision.replicas == 2
    assert decision.recommended == 50
    assert decision.limits == (Limit.MAX_REPLICAS, Limit.SCALE_UP_STEP)


# -- trickle -------------------------------------------------------------------------


def test_trickle_keeps_one_replica_and_never_flaps_to_zero():
    policy = ScalingPolicy(target_backlog=10, cooldown_seconds=120)
    cluster = Cluster(policy, names=[])
    # one message every 30 s, handled quickly: backlog alternates 1 and 0
    counts = run(cluster, [(t, 1 if (t // 10) % 3 == 0 else 0) for t in range(0, 600, 10)])
    assert counts[0] == 1
    assert set(counts) == {1}


def test_activation_threshold_holds_zero_until_exceeded():
    policy = ScalingPolicy(target_backlog=10, activation_backlog=5)
    cluster = Cluster(policy, names=[])
    held = cluster.step(0, ready=5)
    assert (held.replicas, held.reason, held.limits) == (0, Reason.STEADY, (Limit.ACTIVATION,))
    assert cluster.step(10, ready=6).replicas == 1


def test_activation_threshold_only_applies_from_zero():
    policy = ScalingPolicy(target_backlog=10, activation_backlog=5, cooldown_seconds=0)
    decision = desired_replicas(Observation(at=0, ready=3, replicas=replicas(2)), policy)
    assert decision.replicas == 1  # below activation, but replicas exist: keep serving


# -- idle ----------------------------------------------------------------------------


def test_idle_waits_for_cooldown_before_scaling_to_zero():
    policy = ScalingPolicy(
        target_backlog=10, cooldown_seconds=60, scale_down_stabilization_seconds=0
    )
    cluster = Cluster(policy, names=["a", "b", "c"])
    counts = run(cluster, [(t, 0) for t in range(0, 90, 10)])
    # idle from t=0: one replica kept through the cooldown, zero at t=60
    assert counts == [1, 1, 1, 1, 1, 1, 0, 0, 0]


def test_cooldown_restarts_when_work_returns():
    policy = ScalingPolicy(
        target_backlog=10, cooldown_seconds=30, scale_down_stabilization_seconds=0
    )
    cluster = Cluster(policy, names=["a"])
    script = [(0, 0), (10, 0), (20, 5), (30, 0), (40, 0), (50, 0), (60, 0)]
    assert run(cluster, script) == [1, 1, 1, 1, 1, 1, 0]


def test_cooldown_is_reported_and_zero_cooldown_scales_at_once():
    held = desired_replicas(
        Observation(at=0, replicas=replicas(1)), ScalingPolicy(cooldown_seconds=10)
    )
    assert (held.replicas, held.limits) == (1, (Limit.COOLDOWN,))
    gone = desired_replicas(
        Observation(at=0, replicas=replicas(1)), ScalingPolicy(cooldown_seconds=0)
    )
    assert (gone.replicas, gone.reason, gone.remove) == (0, Reason.SCALE_TO_ZERO, ("w0",))


def test_min_replicas_keeps_a_floor_when_idle():
    policy = ScalingPolicy(min_replicas=2, cooldown_seconds=0, scale_down_stabilization_seconds=0)
    decision = desired_replicas(Observation(at=0, replicas=replicas(5)), policy)
    assert decision.replicas == 2
    assert decision.remove == ("w4", "w3", "w2")
    assert Limit.MIN_REPLICAS in decision.limits
    assert desired_replicas(Observation(at=0), policy).replicas == 2


# -- flapping ------------------------------------------------------------------------


def test_flapping_load_is_stabilized_by_the_window():
    policy = ScalingPolicy(target_backlog=10, scale_down_stabilization_seconds=60)
    cluster = Cluster(policy, names=[])
    # backlog flips between 50 and 5 every 10 s for two minutes
    script = [(t, 50 if (t // 10) % 2 == 0 else 5) for t in range(0, 120, 10)]
    counts = run(cluster, script)
    # step cap at t=0; held at t=10 (the 5 recommended at t=0 is in the window); then 5
    assert counts[:3] == [4, 4, 5]
    assert counts[3:] == [5] * (len(script) - 3)  # never steps down while flapping


def test_scale_down_follows_the_highest_recommendation_in_the_window():
    policy = ScalingPolicy(target_backlog=10, scale_down_stabilization_seconds=30)
    cluster = Cluster(policy, names=[f"w{i}" for i in range(8)])
    script = [(0, 80), (10, 40), (20, 20), (30, 10), (40, 10), (50, 10), (60, 10)]
    counts = run(cluster, script)
    # at t=40 the window [10, 40] still holds the 4 from t=10; at t=50 the 2 from t=20
    assert counts == [8, 8, 8, 8, 4, 2, 1]


def test_stabilization_is_reported():
    history = History().record(0, 6, window=60)
    decision = desired_replicas(
        Observation(at=10, ready=10, replicas=replicas(6)),
        ScalingPolicy(target_backlog=10, scale_down_stabilization_seconds=60),
        history,
    )
    assert (decision.replicas, decision.limits, decision.reason) == (
        6,
        (Limit.STABILIZATION,),
        Reason.STEADY,
    )


# -- handlers running ----------------------------------------------------------------


def test_never_scales_to_zero_while_a_handler_runs():
    policy = ScalingPolicy(cooldown_seconds=0, scale_down_stabilization_seconds=0)
    cluster = Cluster(policy, names=["a", "b"])
    # the queue is empty but replica "b" still runs a long handler for a minute
    for at in range(0, 60, 10):
        decision = cluster.step(at, busy={"b": 1})
        assert decision.replicas == 1
        assert cluster.names == ["b"]
    assert cluster.step(60).replicas == 0


def test_busy_replicas_set_the_floor_and_are_never_removed():
    policy = ScalingPolicy(
        target_backlog=10, cooldown_seconds=0, scale_down_stabilization_seconds=0
    )
    obs = Observation(at=0, unacked=3, replicas=replicas(5, busy={0: 1, 2: 1, 4: 1}))
    decision = desired_replicas(obs, policy)
    assert decision.replicas == 3
    assert decision.remove == ("w3", "w1")
    assert Limit.BUSY in decision.limits


def test_unacked_without_replica_reports_still_counts_as_work():
    policy = ScalingPolicy(cooldown_seconds=0, scale_down_stabilization_seconds=0)
    decision = desired_replicas(Observation(at=0, unacked=2, replicas=replicas(3)), policy)
    assert decision.replicas == 1
    assert decision.history.idle_since is None


def test_busy_floor_wins_over_a_lowered_max():
    policy = ScalingPolicy(max_replicas=1, scale_down_stabilization_seconds=0)
    obs = Observation(at=0, unacked=3, replicas=replicas(3, busy={0: 1, 1: 1, 2: 1}))
    decision = desired_replicas(obs, policy)
    assert (decision.replicas, decision.remove) == (3, ())


def test_in_flight_and_unacked_are_not_counted_twice():
    obs = Observation(at=0, ready=5, unacked=4, replicas=replicas(2, busy={0: 2, 1: 2}))
    assert obs.work == 9
    assert Observation(at=0, ready=5, replicas=replicas(1, busy={0: 3})).work == 8


# -- drain time ----------------------------------------------------------------------


def test_drain_time_target_formula():
    # W=600, T=60 -> 10/s to drain; λ=2/s arriving; μ=6/s over 2 replicas -> 3/s each
    obs = Observation(
        at=0, ready=600, replicas=replicas(2), handled_per_second=6.0, arrival_per_second=2.0
    )
    assert drain_replicas(obs, 60) == 4  # ceil((10 + 2) / 3)
    assert drain_replicas(Observation(at=0, ready=600), 60) is None
    assert drain_replicas(obs.model_copy(update={"handled_per_second": 0.0}), 60) is None


def test_drain_time_raises_the_recommendation():
    policy = ScalingPolicy(target_backlog=1000, drain_time_seconds=60, scale_up_max_step=10)
    obs = Observation(at=0, ready=600, replicas=replicas(2), handled_per_second=6.0)
    decision = desired_replicas(obs, policy)
    assert (decision.replicas, decision.recommended) == (4, 4)
    assert decision.limits == (Limit.DRAIN_TIME,)


# -- models --------------------------------------------------------------------------


def test_policy_rejects_min_above_max_and_uses_camel_case_aliases():
    with pytest.raises(ValidationError, match="minReplicas"):
        ScalingPolicy(min_replicas=5, max_replicas=2)
    policy = ScalingPolicy.model_validate({"minReplicas": 1, "targetBacklog": 3})
    assert (policy.min_replicas, policy.target_backlog) == (1, 3)
    assert "scaleDownStabilizationSeconds" in policy.model_dump(by_alias=True)


def test_observation_rejects_duplicate_replica_names():
    with pytest.raises(ValidationError, match="unique"):
        Observation(at=0, replicas=(ReplicaState(name="a"), ReplicaState(name="a")))


def test_history_forgets_recommendations_outside_the_window():
    history = History().record(0, 5, window=30).record(20, 3, window=30).record(40, 1, window=30)
    assert [rec.replicas for rec in history.recommendations] == [3, 1]
    assert history.highest() == 3
    assert History().highest() == 0


def test_decision_is_pure_and_history_is_immutable():
    policy = ScalingPolicy()
    obs = Observation(at=5, ready=20, replicas=replicas(1))
    history = History()
    first = desired_replicas(obs, policy, history)
    second = desired_replicas(obs, policy, history)
    assert first == second
    assert history == History()
    assert first.changed
