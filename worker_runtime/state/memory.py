"""An in-process :class:`~worker_runtime.state.base.StateStore` for unit tests."""

from __future__ import annotations

import threading
import time

from worker_runtime.state.base import Claim

__all__ = ["MemoryStore"]

_DONE = "done"


class MemoryStore:
    """Dict-backed, thread-safe, honours expiry."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _get(self, key: str) -> str | None:
        item = self._values.get(key)
        if item is None or item[1] <= time.monotonic():
            self._values.pop(key, None)
            return None
        return item[0]

    def claim(self, key: str, token: str, lease: float) -> Claim:
        with self._lock:
            value = self._get(key)
            if value is None:
                self._values[key] = (f"running:{token}", time.monotonic() + lease)
                return Claim.CLAIMED
            return Claim.DONE if value == _DONE else Claim.RUNNING

    def complete(self, key: str, ttl: float) -> None:
        with self._lock:
            self._values[key] = (_DONE, time.monotonic() + ttl)

    def release(self, key: str, token: str) -> None:
        with self._lock:
            if self._get(key) == f"running:{token}":
                del self._values[key]

    def mark(self, key: str, ttl: float) -> None:
        with self._lock:
            self._values[key] = ("1", time.monotonic() + ttl)

    def mark_if_absent(self, key: str, ttl: float) -> bool:
        with self._lock:
            if self._get(key) is not None:
                return False
            self._values[key] = ("1", time.monotonic() + ttl)
            return True

    def close(self) -> None:
        return None
