"""The state store contract used by the idempotency and attempts middleware.

Keys are opaque strings chosen by the callers; values expire. Two operations
families: a lease/complete/release cycle for dedupe keys, and set-if-absent
markers for "the handler of attempt N started".
"""

from __future__ import annotations

from enum import Enum
from typing import Protocol

__all__ = ["Claim", "StateStore"]


class Claim(Enum):
    """What :meth:`StateStore.claim` found."""

    CLAIMED = "claimed"  # the key was free: the caller holds the lease now
    DONE = "done"  # the key was completed before: a duplicate
    RUNNING = "running"  # someone else holds the lease


class StateStore(Protocol):
    """A key-value store with expiry, atomic per key, shared by a function's workers."""

    def claim(self, key: str, token: str, lease: float) -> Claim:
        """Take the lease on ``key`` for ``lease`` seconds unless it is held or done."""

    def complete(self, key: str, ttl: float) -> None:
        """Mark ``key`` done for ``ttl`` seconds (duplicates are skipped meanwhile)."""

    def release(self, key: str, token: str) -> None:
        """Drop the lease on ``key`` if ``token`` still holds it."""

    def mark(self, key: str, ttl: float) -> None:
        """Set marker ``key`` (overwriting) for ``ttl`` seconds."""

    def mark_if_absent(self, key: str, ttl: float) -> bool:
        """Set marker ``key`` unless present; True when it was absent."""

    def close(self) -> None:
        """Release connections."""
