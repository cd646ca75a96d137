"""Settings of eventfn, read from flags and ``EVENTFN_*`` environment variables.

Every process (publisher, bridge, worker, ingress, autoscaler) builds one
:class:`Settings` with :func:`get_settings`; flags override environment values by
passing them as keyword arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
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
    log_level: str = "INFO"
    bridge_prefetch: int = Field(default=256, ge=1, le=65535)
    publish_timeout: float = Field(default=10.0, gt=0, description="seconds to wait for a confirm")
    connect_timeout: float = Field(default=5.0, gt=0)
    embedded_poll_interval: float = Field(default=0.01, gt=0, le=5)
    embedded_visibility_timeout: float = Field(
        default=300.0, gt=0, description="seconds before an unacked embedded message is redelivered"
    )


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with non-None ``overrides`` (from flags) on top."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**clean)  # type: ignore[arg-type]
