"""Functions for the autoscaling end-to-end tests and the scale-from-zero benchmark.

Loaded by real ``eventfn worker``/``bridge`` subprocesses (``--functions`` this file).
Each handler appends a "start" line before its work and an "end" line after it to
``EVENTFN_TEST_RECORD``, so a test can prove that no handler was interrupted (every
start has its end, in the same process) and that nothing was lost.
"""

from __future__ import annotations

import json
import os
import time

from cloudevents.core.base import BaseCloudEvent

from worker_runtime import function

#: Seconds each handler works (env EVENTFN_TEST_WORK_SECONDS).
WORK_SECONDS = float(os.environ.get("EVENTFN_TEST_WORK_SECONDS", "0.01"))


def _record(phase: str, event: BaseCloudEvent) -> None:
    line = json.dumps({"phase": phase, "id": event.get_id(), "pid": os.getpid(), "t": time.time()})
    fd = os.open(os.environ["EVENTFN_TEST_RECORD"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


@function("scaled", subscribe=[{"exact": {"type": "com.example.e2e.scaled"}}])
def scaled(event: BaseCloudEvent) -> None:
    _record("start", event)
    time.sleep(WORK_SECONDS)
    _record("end", event)
