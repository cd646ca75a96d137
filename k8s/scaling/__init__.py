"""Pure scaling decisions: how many replicas a function should run, and which may go.

Public API::

    from k8s.scaling import Observation, ReplicaState, ScalingPolicy, History
    from k8s.scaling import desired_replicas

    decision = desired_replicas(observation, policy, history)
    history = decision.history          # pass it back with the next observation

Used by the autoscaler loop (both actuators) and by the manifest renderer
(:class:`ScalingPolicy` maps onto KEDA's ScaledObject).
"""

from k8s.scaling.decision import Decision, Limit, Reason, desired_replicas, drain_replicas
from k8s.scaling.history import History, Recommendation
from k8s.scaling.observation import Observation, ReplicaState
from k8s.scaling.policy import ScalingPolicy

__all__ = [
    "Decision",
    "History",
    "Limit",
    "Observation",
    "Reason",
    "Recommendation",
    "ReplicaState",
    "ScalingPolicy",
    "desired_replicas",
    "drain_replicas",
]
