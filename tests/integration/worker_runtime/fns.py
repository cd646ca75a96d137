"""Functions for the worker runtime's integration tests (loaded by path by real workers).

Each call appends one JSON line to the file named by ``EVENTFN_TEST_RECORD``;
``EVENTFN_TEST_FIXED`` names a file whose existence "fixes" the doomed handler.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from worker_runtime import PermanentError, Retry, function
from worker_runtime.context import current_delivery


def record(name: str, event: Any, phase: str = "call", **extra: Any) -> None:
    line = json.dumps(
        {
            "fn": name,
            "id": event.get_id(),
            "attempt": current_delivery().attempt,
            "phase": phase,
            "t": time.time(),
            "pid": os.getpid(),
            **extra,
        }
    )
    fd = os.open(os.environ["EVENTFN_TEST_RECORD"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def calls(name: str, event_id: str) -> int:
    path = Path(os.environ["EVENTFN_TEST_RECORD"])
    if not path.exists():
        return 0
    return sum(
        1
        for line in path.read_text().splitlines()
        if line and json.loads(line)["fn"] == name and json.loads(line)["id"] == event_id
    )


@function(
    "flaky",
    retry=Retry(max_attempts=5, backoff="exponential", delay=0.6, max_delay=5.0, jitter=0.0),
)
def flaky(event: Any) -> None:
    failures_before = calls("flaky", event.get_id())
    record("flaky", event)
    if failures_before < 2:
        raise ConnectionError(f"transient failure {failures_before + 1}")


@function("doomed", retry=Retry(max_attempts=3, delay=0.2, max_delay=1.0))
def doomed(event: Any) -> None:
    record("doomed", event)
    if not Path(os.environ["EVENTFN_TEST_FIXED"]).exists():
        raise PermanentError("cannot process this order: warehouse 'x' unknown")


@function("slow", timeout=20.0, retry=Retry(max_attempts=3, delay=0.2, max_delay=1.0))
def slow(event: Any) -> None:
    record("slow", event, phase="start")
    time.sleep(float(event.get_data()["seconds"]))
    record("slow", event, phase="end")


@function("idem", idempotent=True, concurrency=2)
def idem(event: Any) -> None:
    record("idem", event)


class Order(BaseModel):
    order_id: int
    amount: float


@function("typed", data_model=Order, retry=Retry(max_attempts=3, delay=0.2, max_delay=1.0))
def typed(event: Any) -> None:
    order = event.get_data()
    assert isinstance(order, Order)
    record("typed", event, order_id=order.order_id)


@function("replier")
def replier(event: Any) -> dict[str, Any]:
    record("replier", event)
    return {"type": "com.example.reply", "data": {"in_reply_to": event.get_id()}}


@function("noop")
def noop(event: Any) -> None:
    record("noop", event)


@function("victim", timeout=2.0, retry=Retry(max_attempts=3, delay=0.2, max_delay=1.0))
def victim(event: Any) -> None:
    time.sleep(0.2)  # past the 50 ms after which the attempt marker is written
    record("victim", event, phase="start")
    time.sleep(float(event.get_data()["seconds"]))
    record("victim", event, phase="end")


@function("stuck", timeout=1.0, retry=Retry(max_attempts=2, delay=0.1, max_delay=0.5))
def stuck(event: Any) -> None:
    record("stuck", event, phase="start")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # swallows the soft timeout: only the hard one stops it
        try:
            time.sleep(0.05)
        except Exception:
            continue
