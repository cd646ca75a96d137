"""The autoscaler with the Kubernetes actuator, ready to run in a thread.

Public API (``eventfn autoscale --actuator kubernetes``; the operator builds its own
:class:`k8s.autoscaler.Autoscaler` the same way, with functions from Function resources)::

    ClusterAutoscaling(["resize-image"], broker_url=url, namespace="eventfn").run(stop)
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from kubernetes import client

from broker_bridge.config import Settings
from broker_bridge.health import Health
from k8s.actuators.deployment import DeploymentScaler
from k8s.actuators.kubernetes import KubernetesActuator
from k8s.autoscaler.activation import ActivationListener
from k8s.autoscaler.loop import Autoscaler
from k8s.autoscaler.target import ScaledFunction
from k8s.kubeconfig import api_client
from k8s.metrics.sources import open_metrics_source
from k8s.scaling import ScalingPolicy

__all__ = ["ClusterAutoscaling"]


class ClusterAutoscaling:
    """Scales the Deployments named like ``functions`` in ``namespace``."""

    def __init__(
        self,
        functions: Iterable[str],
        *,
        broker_url: str,
        namespace: str,
        policy: ScalingPolicy | None = None,
        interval: float = 2.0,
        activation: bool = True,
        management_url: str | None = None,
        settings: Settings | None = None,
        api: client.ApiClient | None = None,
        health: Health | None = None,
    ) -> None:
        self.api = api or api_client()
        self.broker_url = broker_url
        self.settings = settings or Settings(broker_url=broker_url)
        self.activation = activation
        self.metrics = open_metrics_source(broker_url, management_url)
        actuator = KubernetesActuator(DeploymentScaler(client.AppsV1Api(self.api), namespace))
        targets = [
            ScaledFunction(name=name, policy=policy or ScalingPolicy()) for name in functions
        ]
        self.autoscaler = Autoscaler(
            targets, self.metrics, actuator, interval=interval, health=health
        )

    def run(self, stop: threading.Event) -> None:
        listener = None
        if self.activation:
            listener = ActivationListener(
                self.broker_url, self.autoscaler.activate, settings=self.settings
            ).start()
        try:
            self.autoscaler.run(stop)
        finally:
            if listener is not None:
                listener.stop()
            self.metrics.close()
