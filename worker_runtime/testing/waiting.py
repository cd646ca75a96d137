"""Poll a condition until it holds or a deadline passes (instead of sleeping)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["TimedOut", "wait_until"]

T = TypeVar("T")


class TimedOut(AssertionError):
    """The awaited condition did not hold before the deadline."""


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float = 30.0,
    interval: float = 0.02,
    message: str | Callable[[], str] = "condition",
) -> T:
    """Return ``condition()``'s first truthy value; raise TimedOut after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise TimedOut(f"timed out after {timeout:.1f}s waiting for {text}")
        time.sleep(interval)
