"""Functions of the reliability tests, loaded by real ``eventfn`` processes by path.

Every handler call appends one JSON line (function, event id, attempt, pid, phase)
to the file named by ``EVENTFN_TEST_RECORD``: the tests count handled events, and
duplicated effects, from that file. ``O_APPEND`` writes of one short line are
atomic, so worker processes may append concurrently.
"""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

from worker_runtime import PermanentError, Retry, RetryableError, function
from worker_runtime.context import current_delivery

PLAIN = "com.example.rel.plain"
IDEM = "com.example.rel.idem"
POISON = "com.example.rel.poison"
HANG = "com.example.rel.hang"


def record(name: str, event: Any, phase: str = "done") -> None:
    line = json.dumps(
        {
            "fn": name,
            "id": event.get_id(),
            "attempt": current_delivery().attempt,
            "pid": os.getpid(),
            "phase": phase,
        },
        separators=(",", ":"),
    )
    fd = os.open(os.environ["EVENTFN_TEST_RECORD"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


@function("rel-plain", subscribe=[{"exact": {"type": PLAIN}}], timeout=10.0, concurrency=2)
def plain(event: Any) -> None:
    """At-least-once: every call is recorded, so redeliveries show up as duplicates."""
    record("rel-plain", event)


@function(
    "rel-idem",
    subscribe=[{"exact": {"type": IDEM}}],
    idempotent=True,
    timeout=2.0,
    concurrency=2,
)
def idem(event: Any) -> None:
    """``idempotent=True``: each record line is one effect; a duplicate is a defect."""
    record("rel-idem", event)


@function(
    "rel-poison",
    subscribe=[{"exact": {"type": POISON}}],
    timeout=10.0,
    retry=Retry(max_attempts=3, delay=0.1, max_delay=0.5, jitter=0.0),
    concurrency=2,
)
def poison(event: Any) -> None:
    """``data.poison``: ``raise`` fails every attempt; ``crash`` kills its process;
    ``permanent`` raises PermanentError (dead-lettered at once)."""
    kind = (event.get_data() or {}).get("poison")
    if kind == "raise":
        record("rel-poison", event, phase="fail")
        raise ValueError(f"poison event {event.get_id()}: field 'sku' is not a number")
    if kind == "permanent":
        record("rel-poison", event, phase="fail")
        raise PermanentError(f"poison event {event.get_id()}: unknown warehouse")
    if kind == "crash":
        time.sleep(0.2)  # past the 50 ms after which the attempt marker is written
        record("rel-poison", event, phase="crash")
        os.kill(os.getpid(), signal.SIGKILL)
    record("rel-poison", event)


@function(
    "rel-hang",
    subscribe=[{"exact": {"type": HANG}}],
    timeout=1.0,
    retry=Retry(max_attempts=2, delay=0.1, max_delay=0.5, jitter=0.0),
    concurrency=2,
)
def hang(event: Any) -> None:
    """``data.hang``: ``always`` hangs on every attempt, ``once`` on the first only.

    A hanging call swallows the soft timeout, so only the hard timeout (the pool
    process is replaced) stops it.
    """
    mode = (event.get_data() or {}).get("hang")
    attempt = current_delivery().attempt
    if mode == "always" or (mode == "once" and attempt == 1):
        record("rel-hang", event, phase="hang")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                time.sleep(0.05)
            except RetryableError:  # the soft timeout (HandlerTimeout) is ignored
                continue
        return
    record("rel-hang", event)
