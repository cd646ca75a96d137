"""The worker registry's functions, as the k8s package needs them.

Maps :class:`worker_runtime.registry.FunctionSpec` (the ``@function`` options) onto
:class:`k8s.model.FunctionSpec` (what a Function resource says) and
:class:`k8s.autoscaler.ScaledFunction` (what the autoscaler scales). Called by
``eventfn manifests``, ``eventfn autoscale`` and ``eventfn dev``.

What maps: name, ``subscribe`` -> ``subscriptions``, ``timeout`` -> ``timeout_seconds``,
``concurrency``. What stays in the code (the worker reads it from the decorated
function in the image): ``retry``, ``idempotent``, ``data_model``. Scaling policies are
not part of ``@function``: they come from the command line (or the Function resource).
"""

from __future__ import annotations

from collections.abc import Iterable

from k8s.autoscaler.target import ScaledFunction
from k8s.model import FunctionSpec
from k8s.scaling import ScalingPolicy
from worker_runtime.registry import FunctionSpec as RegisteredFunction

__all__ = ["function_spec", "function_specs", "scaled_function"]


def function_spec(
    registered: RegisteredFunction,
    *,
    image: str,
    functions_module: str | None = None,
    policy: ScalingPolicy | None = None,
) -> FunctionSpec:
    """The cluster's view of one registered function."""
    return FunctionSpec(
        name=registered.name,
        image=image,
        timeout_seconds=registered.timeout,
        concurrency=registered.concurrency,
        scaling=policy or ScalingPolicy(),
        subscriptions=tuple(dict(entry) for entry in registered.subscribe),
        functions_module=functions_module,
    )


def function_specs(
    registered: Iterable[RegisteredFunction],
    *,
    image: str,
    functions_module: str | None = None,
    policy: ScalingPolicy | None = None,
) -> list[FunctionSpec]:
    return [
        function_spec(spec, image=image, functions_module=functions_module, policy=policy)
        for spec in registered
    ]


def scaled_function(
    registered: RegisteredFunction, policy: ScalingPolicy | None = None, drain_seconds: float = 30.0
) -> ScaledFunction:
    """What the autoscaler needs of a registered function: a stopping worker gets the
    handler's timeout plus ``drain_seconds`` to finish before it is killed."""
    return ScaledFunction(
        name=registered.name,
        policy=policy or ScalingPolicy(),
        grace_seconds=registered.timeout + drain_seconds,
    )
