"""Queue depth of the embedded SQLite broker (:mod:`broker_bridge.transport.sqlite`).

Reads the broker's database file directly, read-only: a row of ``messages`` whose
``visible_at`` has passed is ready; one whose ``visible_at`` lies in the future has been
claimed by a consumer and not acknowledged yet (a running handler or a prefetched
message; a consumer that died releases it when the visibility timeout expires).
Consumers are not recorded by this broker. A missing file means nothing was
published yet: every count is zero.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import quote

from kombu.utils.url import parse_url

from k8s.errors import MetricsUnavailable
from k8s.metrics.stats import QueueStats

__all__ = ["EmbeddedQueueStats", "database_path"]

_COUNTS = """
SELECT COALESCE(SUM(visible_at <= :now), 0), COALESCE(SUM(visible_at > :now), 0)
FROM messages WHERE queue = :queue
"""


def database_path(url: str) -> Path:
    """The database file of a ``sqlite://localhost//abs/path.db`` broker URL."""
    vhost = parse_url(url).get("virtual_host") or ""
    if not vhost or vhost == "/":
        raise ValueError(f"sqlite:// URL {url!r} names no database file")
    return Path(vhost).resolve()


class EmbeddedQueueStats:
    """Opens the database read-only on first use and keeps the connection."""

    name = "embedded"
    sees_unacked = True

    def __init__(self, url: str) -> None:
        self.path = database_path(url)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def queue_stats(self, queue: str) -> QueueStats:
        with self._lock:
            if self._db is None:
                if not self.path.exists():
                    return QueueStats(queue=queue, ready=0, unacked=0, consumers=None)
                uri = f"file:{quote(str(self.path))}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, timeout=30.0, check_same_thread=False)
            try:
                ready, unacked = self._db.execute(
                    _COUNTS, {"now": time.time(), "queue": queue}
                ).fetchone()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):  # the broker has not created its schema yet
                    self._close()
                    return QueueStats(queue=queue, ready=0, unacked=0, consumers=None)
                raise MetricsUnavailable(self.name, queue, f"{self.path}: {exc}") from exc
        return QueueStats(queue=queue, ready=int(ready), unacked=int(unacked), consumers=None)

    def _close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()

    def close(self) -> None:
        with self._lock:
            self._close()
