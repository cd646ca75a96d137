"""Functions for end-to-end tests: each handled event is appended to a record file.

Loaded by real ``eventfn worker``/``bridge`` subprocesses with
``--functions tests/e2e/recorder.py``; ``EVENTFN_TEST_RECORD`` names the file.
"""

from __future__ import annotations

import json
import os

from cloudevents.core.base import BaseCloudEvent

from broker_bridge.formats.json import to_json
from worker_runtime import function


def _record(function_name: str, event: BaseCloudEvent) -> None:
    line = json.dumps(
        {"function": function_name, "pid": os.getpid(), "event": json.loads(to_json(event))}
    )
    fd = os.open(os.environ["EVENTFN_TEST_RECORD"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


@function("recorder", subscribe=[{"exact": {"type": "com.example.e2e.recorded"}}])
def recorder(event: BaseCloudEvent) -> None:
    _record("recorder", event)
