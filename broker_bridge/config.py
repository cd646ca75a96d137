"""Settings of eventfn, read from flags and ``EVENTFN_*`` environment variables.

Every process (publisher, bridge, worker, ingress, autoscaler) builds one
:class:`Settings` with :func:`get_settings`; flags override environment values by
passing them as keyword arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """All settings; the env prefix is ``EVENTFN_`` (``EVENTFN_BROKER_URL`` ...)."""

    model_config = SettingsConfigDict(env_prefix="EVENTFN_", extra="ignore")

    broker_url: str | None = Field(
        default=None,
        description="amqp://, redis:// or sqlite:// URL; unset means the embedded broker",
    )
    state_dir: Path = Field(
        default=Path(".eventfn"),
        description="where the embedded broker and local stores keep their files",
    )
    log_format: Literal["auto", "console", "json"] = "auto"
    health_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="serve /healthz and /readyz on this port (8081 in the manifests); "
        "unset: no health endpoints",
    )
    health_stale_after: float = Field(
        default=60.0,
        gt=0,
        description="seconds without a heartbeat from a process loop before /healthz fails",
    )
    log_level: str = "INFO"
    bridge_prefetch: int = Field(default=256, ge=1, le=65535)
    publish_timeout: float = Field(default=10.0, gt=0, description="seconds to wait for a confirm")
    connect_timeout: float = Field(default=5.0, gt=0)
    broker_heartbeat: float = Field(
        default=10.0,
        ge=0,
        description="AMQP heartbeat interval (seconds) of every RabbitMQ connection; a "
        "silent broker is detected within two intervals; 0 turns heartbeats off",
    )
    broker_call_timeout: float = Field(
        default=5.0,
        gt=0,
        description="deadline (seconds) of every other blocking broker call: socket reads "
        "and writes, channel and connection close",
    )
    broker_frame_max: int = Field(
        default=131_072,
        ge=4096,
        description="AMQP frame size assumed where the broker negotiates none (Redis, "
        "embedded), so an event accepted locally fits RabbitMQ's default; RabbitMQ's own is "
        "negotiated",
    )
    broker_max_message: int = Field(
        default=16 * 1024 * 1024,
        ge=4096,
        description="largest message the broker takes (RabbitMQ's max_message_size); "
        "bigger messages are refused before they are sent",
    )
    embedded_poll_interval: float = Field(default=0.01, gt=0, le=5)
    embedded_visibility_timeout: float = Field(
        default=300.0, gt=0, description="seconds before an unacked embedded message is redelivered"
    )

    # -- publisher SDK (broker_bridge.publisher) ---------------------------------------
    publish_mode: Literal["structured", "binary"] = Field(
        default="structured",
        description="content mode of published events (structured keeps the original bytes)",
    )
    publisher_pool_size: int = Field(
        default=4, ge=1, le=256, description="broker connections one Publisher may open"
    )
    publish_max_attempts: int = Field(
        default=5, ge=1, description="publish attempts (the first included) before raising"
    )
    publish_retry_interval: float = Field(
        default=0.2, ge=0, description="seconds before the first re-publish; doubles per attempt"
    )
    publish_retry_max_interval: float = Field(default=2.0, ge=0)

    # -- HTTP ingress (broker_bridge.ingress) ------------------------------------------
    ingress_host: str = Field(default="127.0.0.1", description="address the ingress binds")
    ingress_port: int = Field(default=8080, ge=0, le=65535)
    ingress_max_body: int = Field(
        default=1024 * 1024, ge=1, description="largest request body accepted (bytes; 413 above)"
    )
    ingress_token: SecretStr | None = Field(
        default=None, description="when set, requests need 'Authorization: Bearer <token>'"
    )
    ingress_publish_attempts: int = Field(
        default=2, ge=1, description="publish attempts per request before answering 503"
    )
    ingress_retry_after: int = Field(
        default=5, ge=0, description="Retry-After seconds sent with 503 while the broker is down"
    )
    ingress_connections: int = Field(
        default=8, ge=1, le=256, description="broker connections (and publishing threads)"
    )
    ingress_graceful_timeout: float = Field(
        default=30.0, gt=0, description="seconds to drain in-flight requests on shutdown"
    )
    ingress_max_batch: int = Field(
        default=10_000, ge=1, description="most events one batch request may carry"
    )


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with non-None ``overrides`` (from flags) on top."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**clean)  # type: ignore[arg-type]
