"""Cluster-wide settings of rendering: namespace, Secret names, health port, polling.

Passed by ``eventfn manifests`` and the operator to every :mod:`k8s.render` function.
The defaults match the kustomize base in ``k8s/manifests/base``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RenderSettings"]


class RenderSettings(BaseModel):
    """Where and how a function's resources are rendered.

    The broker Secret holds ``broker_url_key`` (the AMQP URL every eventfn process
    reads as ``EVENTFN_BROKER_URL``) and ``management_url_key`` (the RabbitMQ
    management API URL KEDA polls: only its HTTP protocol counts unacknowledged
    messages in ``QueueLength`` mode, the AMQP one counts ready messages only).
    ``health_port`` ``None`` renders workers without probes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: str = "eventfn"
    broker_secret: str = "eventfn-broker"  # noqa: S105 - the Secret's name, not a secret
    broker_url_key: str = "url"
    management_url_key: str = "management-url"
    trigger_authentication: str = "eventfn-broker"
    polling_interval_seconds: int = Field(default=10, ge=1)
    health_port: int | None = Field(default=8081, ge=1, le=65535)
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
