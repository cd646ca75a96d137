"""Actuators: apply a scaling decision to the world (the I/O shell around k8s.scaling).

Public API::

    from k8s.actuators import LocalProcessActuator          # eventfn worker subprocesses
    from k8s.actuators import KubernetesActuator, DeploymentScaler   # needs `kubernetes`

The Kubernetes actuator needs the ``kubernetes`` client (the ``k8s`` extra); it is
imported lazily on first use of its name, so the embedded mode never needs it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from k8s.actuators.local import LocalProcessActuator, Replica

if TYPE_CHECKING:
    from k8s.actuators.deployment import DeploymentScaler
    from k8s.actuators.kubernetes import KubernetesActuator

__all__ = ["DeploymentScaler", "KubernetesActuator", "LocalProcessActuator", "Replica"]

#: Names whose modules import ``kubernetes``, imported on first access.
_LAZY = {
    "DeploymentScaler": "k8s.actuators.deployment",
    "KubernetesActuator": "k8s.actuators.kubernetes",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
