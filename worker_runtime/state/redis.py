"""The Redis :class:`~worker_runtime.state.base.StateStore` (production).

Every operation is one round trip: ``SET NX PX`` for leases and markers, a Lua
compare-and-delete for releases. ``socket_timeout=None`` because redis-py 8
otherwise times out blocking calls after 5 s.
"""

from __future__ import annotations

from typing import Any

import redis

from worker_runtime.state.base import Claim

__all__ = ["RedisStore"]

_DONE = b"done"
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class RedisStore:
    """Keys are prefixed ``eventfn:state:``."""

    def __init__(self, url: str, *, prefix: str = "eventfn:state:") -> None:
        self._client: Any = redis.Redis.from_url(url, socket_timeout=None, socket_connect_timeout=5)
        self._prefix = prefix
        self._release = self._client.register_script(_RELEASE)

    def _key(self, key: str) -> str:
        return self._prefix + key

    def claim(self, key: str, token: str, lease: float) -> Claim:
        full = self._key(key)
        if self._client.set(full, f"running:{token}", nx=True, px=max(1, int(lease * 1000))):
            return Claim.CLAIMED
        value = self._client.get(full)
        if value == _DONE:
            return Claim.DONE
        return Claim.RUNNING

    def complete(self, key: str, ttl: float) -> None:
        self._client.set(self._key(key), _DONE, px=max(1, int(ttl * 1000)))

    def release(self, key: str, token: str) -> None:
        self._release(keys=[self._key(key)], args=[f"running:{token}"])

    def mark(self, key: str, ttl: float) -> None:
        self._client.set(self._key(key), b"1", px=max(1, int(ttl * 1000)))

    def mark_if_absent(self, key: str, ttl: float) -> bool:
        return bool(self._client.set(self._key(key), b"1", nx=True, px=max(1, int(ttl * 1000))))

    def close(self) -> None:
        self._client.close()
