"""The eventfn operator: Function resources -> workloads, status conditions, cleanup.

Public API::

    from k8s.operator import Operator, plan_function, function_status, FINALIZER
    from k8s.operator import READY, SCALED   # condition types; reasons in .conditions

Built on the official ``kubernetes`` client (:mod:`k8s.client`), not kopf: see
``docs/autoscaling.md`` (the acceptance tests drive the real client against an
in-test API server; kopf speaks to the API through its own aiohttp client and adds
its own annotations, peering and progress storage). Decisions are pure
(:mod:`~k8s.operator.plan`, :mod:`~k8s.operator.status`,
:mod:`~k8s.operator.conditions`); :mod:`~k8s.operator.controller` is the shell.
"""

from k8s.operator.conditions import READY, SCALED, set_condition
from k8s.operator.controller import Operator, utc_now
from k8s.operator.plan import FINALIZER, Plan, is_owned_by, plan_function
from k8s.operator.status import function_status, same_status

__all__ = [
    "FINALIZER",
    "READY",
    "SCALED",
    "Operator",
    "Plan",
    "function_status",
    "is_owned_by",
    "plan_function",
    "same_status",
    "set_condition",
    "utc_now",
]
