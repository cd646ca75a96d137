"""Pure assembly of a :class:`k8s.scaling.Observation` from what the loop gathered.

Called by :class:`k8s.autoscaler.Autoscaler` each tick: the queue's
:class:`k8s.metrics.QueueStats`, the actuator's replicas, and whether a push
activation arrived since the last tick. Kept apart from the loop so the rules below
are unit-tested without brokers or processes.
"""

from __future__ import annotations

from collections.abc import Sequence

from k8s.metrics.stats import QueueStats
from k8s.scaling import Observation, ReplicaState

__all__ = ["attribute_unacked", "build_observation"]


def attribute_unacked(replicas: Sequence[ReplicaState], unacked: int) -> tuple[ReplicaState, ...]:
    """Replicas that cannot report their own work, with the queue's unacknowledged
    messages spread over them one each, first replicas first.

    Conservative on purpose (Kubernetes pods, whose handlers the loop cannot see):
    every unacknowledged message may be a handler running on a different replica, so
    ``min(unacked, replicas)`` of them count as busy and the busy floor of
    :func:`k8s.scaling.desired_replicas` never scales below them.
    """
    return tuple(
        replica.model_copy(update={"in_flight": 1 if index < unacked else 0})
        for index, replica in enumerate(replicas)
    )


def build_observation(
    at: float,
    stats: QueueStats,
    replicas: Sequence[ReplicaState],
    *,
    replicas_report_in_flight: bool,
    activated: bool = False,
) -> Observation:
    """The observation the decision sees.

    * ``unacked`` unknown to the source (AMQP): ``0``; the replicas' in-flight reports
      stand in for it (:attr:`Observation.work` takes the larger of the two).
    * replicas that do not report in-flight work get the unacknowledged messages
      attributed by :func:`attribute_unacked`.
    * ``activated``: the bridge has just routed an event to this function; when
      nothing is visible yet (the message may still be on its way) and no replica
      runs, one ready message is assumed so that the decision activates at once.
    """
    unacked = stats.unacked or 0
    states = tuple(replicas)
    if not replicas_report_in_flight:
        states = attribute_unacked(states, unacked)
    ready = stats.ready
    if activated and not states and ready + unacked == 0:
        ready = 1
    return Observation(at=at, ready=ready, unacked=unacked, replicas=states)
