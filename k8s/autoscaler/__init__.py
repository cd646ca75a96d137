"""The autoscaler: one control loop over metrics sources and actuators, push activation.

Public API::

    from k8s.autoscaler import Autoscaler, ScaledFunction, ActivationListener
    from k8s.actuators import LocalProcessActuator
    from k8s.metrics import open_metrics_source

    scaler = Autoscaler([ScaledFunction(name="resize-image")],
                        open_metrics_source(url), LocalProcessActuator("functions", ...))
    with ActivationListener(url, scaler.activate):
        scaler.run(stop_event)

Used by ``eventfn autoscale``, ``eventfn operator`` and ``eventfn dev``. The decision
itself is :func:`k8s.scaling.desired_replicas` (pure).
"""

from k8s.autoscaler.activation import (
    ACTIVATE_QUEUE,
    Activation,
    ActivationListener,
    activation_queue,
)
from k8s.autoscaler.actuator import Actuator
from k8s.autoscaler.loop import Autoscaler, FunctionStatus
from k8s.autoscaler.observe import attribute_unacked, build_observation
from k8s.autoscaler.target import ScaledFunction

__all__ = [
    "ACTIVATE_QUEUE",
    "Activation",
    "ActivationListener",
    "Actuator",
    "Autoscaler",
    "FunctionStatus",
    "ScaledFunction",
    "activation_queue",
    "attribute_unacked",
    "build_observation",
]
