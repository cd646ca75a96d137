"""In-flight reports of local worker processes: written inside the worker, read by the loop.

The local actuator starts ``eventfn worker NAME --functions MODULE,k8s.actuators.probe``
with ``EVENTFN_INFLIGHT_DIR`` set to a directory of its own per replica. Importing this
module in the worker connects Celery's ``task_prerun``/``task_postrun`` signals, which
keep a count of the handlers running in this process and write it to
``$EVENTFN_INFLIGHT_DIR/<pid>`` (atomically, by rename); ``worker_ready`` writes the
first report, so a report of the worker's own pid also means "ready, stoppable".
:func:`read_in_flight` sums the files of live processes, so the autoscaler knows which
worker is busy without asking the broker (AMQP cannot tell, and no broker can tell
*which* consumer holds a message).

With ``worker_prefetch_multiplier=1`` and one handler per process, a worker whose count
is zero holds no message except, for a moment, one it has just received and not yet
started; stopping it then is still safe (Celery's warm shutdown requeues it).
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any

from k8s.pids import pid_alive

__all__ = ["INFLIGHT_DIR_ENV", "install", "read_in_flight", "reported"]

INFLIGHT_DIR_ENV = "EVENTFN_INFLIGHT_DIR"

_lock = threading.Lock()
_running = 0
_installed = False


def _write(directory: Path, count: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / str(os.getpid())
    tmp = directory / f".{os.getpid()}.tmp"
    tmp.write_text(str(count))
    tmp.replace(path)


def _changed(delta: int) -> None:
    global _running  # noqa: PLW0603 - one counter per worker process, by design
    directory = os.environ.get(INFLIGHT_DIR_ENV)
    if not directory:
        return
    with _lock:
        _running = max(0, _running + delta)
        _write(Path(directory), _running)


def _ready(**_: Any) -> None:
    """The worker consumes (its SIGTERM handler is installed): report zero in flight."""
    directory = os.environ.get(INFLIGHT_DIR_ENV)
    if directory:
        with _lock:
            _write(Path(directory), _running)


def _started(**_: Any) -> None:
    _changed(+1)


def _finished(**_: Any) -> None:
    _changed(-1)


def install() -> None:
    """Connect the Celery signals (idempotent; a no-op without ``EVENTFN_INFLIGHT_DIR``)."""
    global _installed  # noqa: PLW0603 - connect the signals once per process
    if _installed or not os.environ.get(INFLIGHT_DIR_ENV):
        return
    from celery.signals import (  # noqa: PLC0415 - only in workers
        task_postrun,
        task_prerun,
        worker_ready,
    )

    worker_ready.connect(_ready, weak=False)
    task_prerun.connect(_started, weak=False)
    task_postrun.connect(_finished, weak=False)
    _installed = True


def reported(directory: Path, pid: int) -> bool:
    """Whether process ``pid`` has reported (it is ready and handles SIGTERM)."""
    return (directory / str(pid)).exists()


def read_in_flight(directory: Path) -> int:
    """Handlers running in the processes that reported into ``directory`` (dead ones
    are ignored: a handler of a dead process is not running any more)."""
    total = 0
    if not directory.is_dir():
        return 0
    for path in directory.iterdir():
        if not path.name.isdigit() or not pid_alive(int(path.name)):
            continue
        with contextlib.suppress(OSError, ValueError):
            total += max(0, int(path.read_text() or 0))
    return total


install()
