"""Actuators: apply a scaling decision to the world (the I/O shell around k8s.scaling).

Importing this package needs the ``kubernetes`` client (the ``k8s`` extra); the pure
packages (:mod:`k8s.scaling`, :mod:`k8s.render`) do not.
"""

from k8s.actuators.deployment import DeploymentScaler

__all__ = ["DeploymentScaler"]
