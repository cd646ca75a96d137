"""The embedded broker: a durable kombu transport on one SQLite file.

Used when ``EVENTFN_BROKER_URL`` is unset (``eventfn dev``, tests, laptops). Every
process that opens the same file sees the same queues, so a publisher, a bridge
and several worker processes work together with no external service.

Delivery follows the visibility-timeout model of SQS and kombu's Redis transport:
a consumer *claims* a row (it becomes invisible until ``visible_at``), an ack
deletes it, a reject/requeue or a channel close makes it visible again, and the
claim of a process that died (SIGKILL, power loss) expires after
``visibility_timeout`` seconds, so the message is delivered again. Nothing that
was published is lost across restarts: the row is only ever deleted by an ack.

Written here because kombu's own ``filesystem`` transport deletes a message when
it is fetched (a SIGKILLed consumer loses its prefetched messages) and its
SQLAlchemy transport needs SQLAlchemy and also drops in-flight messages on a crash.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, virtual

__all__ = ["Channel", "QoS", "Transport", "register"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    tag TEXT NOT NULL,
    payload TEXT NOT NULL,
    visible_at REAL NOT NULL DEFAULT 0,
    deliveries INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS messages_ready ON messages (queue, visible_at, seq);
CREATE INDEX IF NOT EXISTS messages_tag ON messages (tag);
"""

_CLAIM = """
UPDATE messages SET visible_at = ?, deliveries = deliveries + 1
WHERE seq = (
    SELECT seq FROM messages WHERE queue = ? AND visible_at <= ? ORDER BY seq LIMIT 1
)
RETURNING payload, deliveries
"""


def _open(path: str) -> sqlite3.Connection:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.executescript(_SCHEMA)
    return conn


class QoS(virtual.QoS):  # type: ignore[misc]
    """Deletes the row on ack; a requeue or restore makes it visible again."""

    def ack(self, delivery_tag: str) -> None:
        self.channel._delete_tag(delivery_tag)
        super().ack(delivery_tag)

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        if requeue:
            self.channel._make_visible(delivery_tag)
        else:
            self.channel._delete_tag(delivery_tag)
        self._quick_ack(delivery_tag)


class Channel(virtual.Channel):  # type: ignore[misc]
    """One SQLite connection per channel; claims rows with one atomic UPDATE."""

    QoS = QoS
    do_restore = True

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        options = connection.client.transport_options
        self.visibility_timeout = float(options.get("visibility_timeout", 300.0))
        self._path = connection.db_path
        self._lock = threading.Lock()
        self._db = _open(self._path)

    # -- primitive hooks of kombu's virtual transport -------------------------------
    def _put(self, queue: str, message: dict[str, Any], **kwargs: Any) -> None:
        tag = message["properties"]["delivery_tag"]
        with self._lock:
            self._db.execute(
                "INSERT INTO messages (queue, tag, payload) VALUES (?, ?, ?)",
                (queue, tag, json.dumps(message)),
            )

    def _get(self, queue: str, timeout: float | None = None) -> dict[str, Any]:
        now = time.time()
        with self._lock:
            row = self._db.execute(_CLAIM, (now + self.visibility_timeout, queue, now)).fetchone()
        if row is None:
            raise Empty()
        message: dict[str, Any] = json.loads(row[0])
        if row[1] > 1:
            message["redelivered"] = True
            message["properties"].setdefault("delivery_info", {})["redelivered"] = True
        return message

    def _size(self, queue: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM messages WHERE queue = ? AND visible_at <= ?",
                (queue, time.time()),
            ).fetchone()
        return int(row[0])

    def _purge(self, queue: str) -> int:
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM messages WHERE queue = ? AND visible_at <= ?", (queue, time.time())
            )
        return int(cur.rowcount)

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        with self._lock:
            self._db.execute("DELETE FROM messages WHERE queue = ?", (queue,))

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        return True

    def _restore(self, message: Any) -> None:
        self._make_visible(message.delivery_tag)

    # -- row state -----------------------------------------------------------------
    def _delete_tag(self, tag: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM messages WHERE tag = ?", (tag,))

    def _make_visible(self, tag: str) -> None:
        with self._lock:
            self._db.execute("UPDATE messages SET visible_at = 0 WHERE tag = ?", (tag,))

    def unacked_count(self, queue: str) -> int:
        """Messages of ``queue`` claimed by a consumer and not yet acked."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM messages WHERE queue = ? AND visible_at > ?",
                (queue, time.time()),
            ).fetchone()
        return int(row[0])

    def close(self) -> None:
        super().close()
        with self._lock:
            self._db.close()


class Transport(virtual.Transport):  # type: ignore[misc]
    """``sqlite:///path/to/broker.db`` (absolute path: four slashes)."""

    Channel = Channel
    polling_interval = 0.01
    default_port = None
    driver_type = "sqlite"
    driver_name = "sqlite3"
    implements = virtual.Transport.implements.extend(
        asynchronous=False, exchange_type=frozenset(["direct"])
    )

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        vhost = client.virtual_host or ""
        if not vhost or vhost == "/":
            raise ValueError("sqlite:// URL needs a database path, e.g. sqlite:////tmp/broker.db")
        self.db_path = os.path.abspath(vhost)

    def driver_version(self) -> str:
        return sqlite3.sqlite_version


def register() -> None:
    """Make ``sqlite://`` URLs resolve to this transport (idempotent)."""
    TRANSPORT_ALIASES.setdefault("sqlite", "broker_bridge.transport.sqlite:Transport")
