"""The SQLite :class:`~worker_runtime.state.base.StateStore` (embedded mode).

One file shared by the worker processes of one machine (next to the embedded
broker's file). Each operation is one short ``BEGIN IMMEDIATE`` transaction, so
processes never interleave on a key.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from worker_runtime.state.base import Claim

__all__ = ["SqliteStore"]

_SCHEMA = "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT, expires REAL)"


class SqliteStore:
    def __init__(self, path: str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()

    def _txn(self, key: str) -> str | None:
        """Begin a write transaction; return the live value of ``key``."""
        self._db.execute("BEGIN IMMEDIATE")
        now = time.time()
        row = self._db.execute("SELECT value, expires FROM state WHERE key = ?", (key,)).fetchone()
        if row is None or row[1] <= now:
            return None
        return str(row[0])

    def _put(self, key: str, value: str, ttl: float) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO state (key, value, expires) VALUES (?, ?, ?)",
            (key, value, time.time() + ttl),
        )

    def claim(self, key: str, token: str, lease: float) -> Claim:
        with self._lock:
            try:
                value = self._txn(key)
                if value is None:
                    self._put(key, f"running:{token}", lease)
                    result = Claim.CLAIMED
                else:
                    result = Claim.DONE if value == "done" else Claim.RUNNING
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return result

    def complete(self, key: str, ttl: float) -> None:
        with self._lock:
            self._put(key, "done", ttl)

    def release(self, key: str, token: str) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM state WHERE key = ? AND value = ?", (key, f"running:{token}")
            )

    def mark(self, key: str, ttl: float) -> None:
        with self._lock:
            self._put(key, "1", ttl)

    def mark_if_absent(self, key: str, ttl: float) -> bool:
        with self._lock:
            try:
                absent = self._txn(key) is None
                if absent:
                    self._put(key, "1", ttl)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return absent

    def close(self) -> None:
        with self._lock:
            self._db.close()
