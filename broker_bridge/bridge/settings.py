"""Settings of the bridge process (``EVENTFN_BRIDGE_*``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["BridgeSettings"]


class BridgeSettings(BaseSettings):
    """How the bridge consumes, batches, and what it does with unmatched events."""

    model_config = SettingsConfigDict(env_prefix="EVENTFN_BRIDGE_", extra="ignore")

    prefetch: int = Field(default=256, ge=1, le=65535, description="unacked inputs held at once")
    batch_size: int = Field(
        default=128, ge=1, le=65535, description="inputs routed per confirm round"
    )
    unmatched: Literal["discard", "keep"] = Field(
        default="discard",
        description="discard (counted in a metric) or keep in the eventfn.bridge.unrouted queue",
    )
    max_hops: int = Field(
        default=16, ge=1, le=1000, description="reply hops before an event is dead-lettered"
    )
    activation_idle: float = Field(
        default=10.0,
        ge=0,
        description="seconds without traffic after which the first event for a function "
        "also sends an activation signal to the autoscaler",
    )
    confirm_timeout: float = Field(default=30.0, gt=0)
    reconnect_max_interval: float = Field(default=5.0, gt=0)
    metrics_port: int | None = Field(
        default=None, description="serve Prometheus metrics (and liveness) on this port"
    )
