"""What a running ``eventfn dev`` leaves in its state directory for ``eventfn status``.

Layout under ``<state dir>/dev/``:

* ``lock``     held (``flock``) while ``eventfn dev`` runs: one per state directory
* ``dev.json`` :class:`DevState`, rewritten about once a second: pid, broker (password
  masked), ingress URL, and per function its workers and handled rate
* ``metrics/`` the workers' Prometheus multiprocess counter files
  (:mod:`k8s.dev.view.counters`), cleared when ``eventfn dev`` starts
* ``logs/``    one log file per process when the live view owns the terminal

``eventfn status`` trusts ``dev.json`` only while its pid is alive and its broker is
the one being asked about.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import time
from pathlib import Path
from typing import IO

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from broker_bridge.errors import ConfigurationError
from worker_runtime.supervisor import pid_alive

__all__ = [
    "DevFunction",
    "DevLock",
    "DevState",
    "counters_dir",
    "dev_dir",
    "logs_dir",
    "orphans",
    "read_state",
    "remove_state",
    "reset_dir",
    "stop_orphans",
    "write_state",
]

log = structlog.get_logger("eventfn.dev")

_ORPHAN_GRACE = 60.0

_STATE_FILE = "dev.json"


def dev_dir(state_dir: Path) -> Path:
    return Path(state_dir).resolve() / "dev"


def counters_dir(state_dir: Path) -> Path:
    return dev_dir(state_dir) / "metrics"


def logs_dir(state_dir: Path) -> Path:
    return dev_dir(state_dir) / "logs"


class DevFunction(BaseModel):
    """One function as ``eventfn dev`` runs it: its subscriptions in words, running and
    busy workers, handled rate."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    subscriptions: str = ""
    workers: int = Field(default=0, ge=0)
    busy: int = Field(default=0, ge=0)
    handled_per_second: float | None = Field(default=None, ge=0)


class DevState(BaseModel):
    """The ``dev.json`` file of a running ``eventfn dev``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    pid: int
    broker: str
    ingress: str
    functions_module: str
    started_at: float
    updated_at: float
    functions: dict[str, DevFunction] = Field(default_factory=dict)
    #: pids of its ingress, bridge and workers (each the leader of its process group)
    children: list[int] = Field(default_factory=list)


def write_state(state_dir: Path, state: DevState) -> None:
    """Replace ``dev.json`` atomically (a reader never sees half a file)."""
    directory = dev_dir(state_dir)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{_STATE_FILE}.{os.getpid()}.tmp"
    tmp.write_text(state.model_dump_json())
    tmp.replace(directory / _STATE_FILE)


def _read(state_dir: Path) -> DevState | None:
    try:
        return DevState.model_validate_json((dev_dir(state_dir) / _STATE_FILE).read_bytes())
    except (OSError, ValidationError):
        return None


def read_state(state_dir: Path) -> DevState | None:
    """The running ``eventfn dev``'s state; ``None`` when none runs on this directory."""
    state = _read(state_dir)
    return state if state is not None and pid_alive(state.pid) else None


def orphans(state_dir: Path) -> list[int]:
    """Processes an ``eventfn dev`` killed without its shutdown left running on this
    state directory: its children still alive, still ``eventfn`` processes of this
    state directory (checked in ``/proc``, so a reused pid is never taken for one)."""
    state = _read(state_dir)
    if state is None or pid_alive(state.pid):
        return []
    marker = f"EVENTFN_STATE_DIR={Path(state_dir).resolve()}".encode()
    found = []
    for pid in state.children:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"broker_bridge.cli" in cmdline and marker in environ:
            found.append(pid)
    return found


def stop_orphans(state_dir: Path, grace: float = _ORPHAN_GRACE) -> list[int]:
    """Stop what a killed ``eventfn dev`` left running on ``state_dir`` (it would hold
    the port and consume the queues with stale code): SIGTERM to each process group,
    SIGKILL after ``grace`` seconds. Returns their pids."""
    pids = orphans(state_dir)
    if not pids:
        return []
    log.warning("stopping processes left by a killed eventfn dev", pids=pids)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(pid_alive(pid) for pid in pids):
        time.sleep(0.1)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    return pids


def remove_state(state_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (dev_dir(state_dir) / _STATE_FILE).unlink()


class DevLock:
    """An exclusive ``flock`` on ``<state dir>/dev/lock``: two ``eventfn dev`` on one
    state directory would clear each other's counters and share one broker file."""

    def __init__(self, state_dir: Path) -> None:
        self.path = dev_dir(state_dir) / "lock"
        self._file: IO[str] | None = None

    def acquire(self) -> DevLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise ConfigurationError(
                f"another eventfn dev (pid {holder}) runs on state directory "
                f"{self.path.parent.parent}; stop it or set EVENTFN_STATE_DIR"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle
        return self

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def reset_dir(path: Path) -> Path:
    """Empty ``path`` (create it when missing)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    return path
