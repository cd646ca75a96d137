"""Whether a process id names a process (used by the dev server, the local actuator and tests)."""

from __future__ import annotations

import os

__all__ = ["pid_alive"]


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists (a zombie counts until it is reaped), also one we may
    not signal."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
