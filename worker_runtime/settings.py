"""Settings of the worker runtime, read from ``EVENTFN_*`` environment variables.

The broker settings live in :class:`broker_bridge.config.Settings`; these are the
worker's own (state store, dedupe TTL, shutdown grace, hub wake-up, metrics).
Built by ``eventfn worker`` and :func:`worker_runtime.app.create_app`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["WorkerSettings", "get_worker_settings"]


class WorkerSettings(BaseSettings):
    """Worker settings; env prefix ``EVENTFN_`` (``EVENTFN_STATE_URL`` ...)."""

    model_config = SettingsConfigDict(env_prefix="EVENTFN_", extra="ignore")

    state_url: str | None = Field(
        default=None,
        description=(
            "redis:// or sqlite:// URL of the store for dedupe keys and attempt markers; "
            "unset: the broker's Redis on a Redis broker, else a SQLite file in state_dir"
        ),
    )
    idempotency_ttl: float = Field(
        default=86400.0, gt=0, description="seconds a completed (source, id) is remembered"
    )
    attempt_marker_ttl: float = Field(
        default=86400.0, gt=0, description="seconds a 'handler started' marker is kept"
    )
    shutdown_grace: float = Field(
        default=30.0, ge=0, description="seconds in-flight handlers get after SIGTERM"
    )
    prefetch_multiplier: int = Field(
        default=4,
        ge=1,
        le=1000,
        description=(
            "messages each pool slot may hold unacked ahead of its handler (Celery's "
            "worker_prefetch_multiplier); 1 for long handlers, so idle replicas get the work"
        ),
    )
    hub_wakeup_interval: float = Field(
        default=0.005,
        ge=0,
        description="seconds between event-loop wake-ups (0 disables; see worker_runtime.hub)",
    )
    rabbitmq_consumer_timeout: float = Field(
        default=1800.0,
        gt=0,
        description="the RabbitMQ node's consumer_timeout in seconds (a server setting)",
    )
    record_file: Path | None = Field(
        default=None,
        description=(
            "append one JSON line per finished delivery to this file (the recording hook "
            "of worker_runtime.recording, used by the pytest plugin; see docs/testing.md)"
        ),
    )
    metrics_port: int | None = Field(
        default=None, ge=0, le=65535, description="serve Prometheus /metrics on this port"
    )


def get_worker_settings(**overrides: object) -> WorkerSettings:
    """Settings from the environment with non-None ``overrides`` (flags) on top."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    return WorkerSettings(**clean)  # type: ignore[arg-type]
