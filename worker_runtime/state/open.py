"""Choose and open the state store for a worker (``EVENTFN_STATE_URL`` or a default).

Default: on a Redis broker, the broker's own Redis; otherwise (embedded, RabbitMQ)
a SQLite file ``worker-state.db`` in the state directory, which is shared by the
workers of one machine only. Clusters on RabbitMQ set ``EVENTFN_STATE_URL`` to a
Redis URL so every pod sees the same dedupe keys and attempt markers.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from broker_bridge.errors import ConfigurationError
from worker_runtime.state.base import StateStore

__all__ = ["open_store", "store_url_for"]


def store_url_for(state_url: str | None, broker_url: str, state_dir: Path) -> str:
    """The state store URL a worker uses given its settings."""
    if state_url:
        return state_url
    scheme = urlsplit(broker_url).scheme
    if scheme in ("redis", "rediss"):
        return broker_url
    if scheme == "sqlite":
        broker_file = Path("/" + urlsplit(broker_url).path.lstrip("/"))
        return f"sqlite://localhost{broker_file.with_name('worker-state.db')}"
    return f"sqlite://localhost/{(state_dir / 'worker-state.db').resolve()}"


def open_store(url: str) -> StateStore:
    """Open the store named by ``url`` (``redis://``, ``rediss://`` or ``sqlite://``)."""
    parts = urlsplit(url)
    if parts.scheme in ("redis", "rediss"):
        from worker_runtime.state.redis import RedisStore  # noqa: PLC0415 - optional client

        return RedisStore(url)
    if parts.scheme == "sqlite":
        from worker_runtime.state.sqlite import SqliteStore  # noqa: PLC0415 - same shape

        return SqliteStore("/" + parts.path.lstrip("/"))
    raise ConfigurationError(f"state store URL {url!r}: use redis://, rediss:// or sqlite://")
