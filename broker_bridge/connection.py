"""Broker URLs and kombu connections for every eventfn process.

``EVENTFN_BROKER_URL`` unset means the embedded SQLite broker under the state
directory. Supported schemes: ``amqp://`` (RabbitMQ), ``redis://`` and
``sqlite://``. Called by the publisher, the bridge, the worker's Celery app and
the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kombu import Connection

from broker_bridge.config import Settings
from broker_bridge.errors import BrokerUnavailable, ConfigurationError
from broker_bridge.transport import redis as redis_transport
from broker_bridge.transport import sqlite

__all__ = [
    "SUPPORTED_SCHEMES",
    "broker_url",
    "check_broker",
    "connect",
    "deadline_options",
    "mask_url",
    "transport_options",
]

SUPPORTED_SCHEMES = ("amqp", "pyamqp", "redis", "rediss", "sqlite")


def broker_url(settings: Settings) -> str:
    """The effective broker URL: the configured one or the embedded broker's file."""
    sqlite.register()
    redis_transport.register()
    if settings.broker_url:
        scheme = urlsplit(settings.broker_url).scheme
        if scheme not in SUPPORTED_SCHEMES:
            raise ConfigurationError(
                f"broker URL {mask_url(settings.broker_url)} has unsupported scheme {scheme!r}; "
                f"use one of {', '.join(SUPPORTED_SCHEMES)}"
            )
        return settings.broker_url
    path = (Path(settings.state_dir) / "broker.db").resolve()
    return f"sqlite://localhost/{path}"


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (for logs and errors)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def transport_options(settings: Settings, url: str) -> dict[str, Any]:
    """Transport options every connection uses (confirms, timeouts, polling)."""
    scheme = urlsplit(url).scheme
    if scheme in ("amqp", "pyamqp"):
        return {"confirm_publish": True}
    if scheme in ("redis", "rediss"):
        return {
            "visibility_timeout": settings.embedded_visibility_timeout,
            # redis-py 8 times out blocking reads after 5 s unless told otherwise
            "socket_timeout": None,
            "socket_connect_timeout": settings.connect_timeout,
            # one list per queue: the crash-safe fetch (broker_bridge.transport.redis)
            # moves from exactly one key, so message priorities are not used on Redis
            "priority_steps": [0],
        }
    return {
        "polling_interval": settings.embedded_poll_interval,
        "visibility_timeout": settings.embedded_visibility_timeout,
    }


def deadline_options(settings: Settings, url: str) -> dict[str, Any]:
    """AMQP socket read/write deadlines for eventfn's own connections (not Celery's).

    With them no blocking call (a channel close waiting for close-ok, a write to a
    broker that stopped reading) can hang past ``EVENTFN_BROKER_CALL_TIMEOUT``; reads
    with their own timeout (``drain_events(timeout=...)``) keep it.
    """
    if urlsplit(url).scheme not in ("amqp", "pyamqp"):
        return {}
    return {
        "read_timeout": settings.broker_call_timeout,
        "write_timeout": settings.broker_call_timeout,
    }


def connect(settings: Settings, url: str | None = None) -> Connection:
    """A kombu connection (not yet connected) to the configured broker.

    On RabbitMQ it has heartbeats (``EVENTFN_BROKER_HEARTBEAT``; the owner calls
    ``heartbeat_check()`` about once a second) and socket deadlines.
    """
    url = url or broker_url(settings)
    redis_transport.register()  # also for an explicit url (idempotent, cheap)
    return Connection(
        url,
        transport_options={**transport_options(settings, url), **deadline_options(settings, url)},
        connect_timeout=settings.connect_timeout,
        heartbeat=settings.broker_heartbeat,
    )


def check_broker(settings: Settings, url: str | None = None) -> str:
    """Connect once and close; raise BrokerUnavailable naming the URL and the cause."""
    url = url or broker_url(settings)
    conn = connect(settings, url)
    try:
        conn.ensure_connection(max_retries=1, timeout=settings.connect_timeout)
    except Exception as exc:  # kombu surfaces many transport-specific errors here
        raise BrokerUnavailable(mask_url(url), _cause(exc)) from exc
    finally:
        conn.release()
    return url


def _cause(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
