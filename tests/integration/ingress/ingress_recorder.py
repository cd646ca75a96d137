"""Functions for the ingress end-to-end tests: each handled event is appended to a file.

Loaded by real ``eventfn ingress``/``bridge``/``worker`` subprocesses with
``--functions tests/integration/ingress/ingress_recorder.py``;
``EVENTFN_TEST_RECORD`` names the record file.
"""

from __future__ import annotations

import json
import os

from cloudevents.core.base import BaseCloudEvent

from broker_bridge.formats.json import to_json
from worker_runtime import function

SUBSCRIBED = [
    {"exact": {"type": "com.example.someevent"}},
    {"exact": {"type": "io.cloudevents.minimum"}},
    {"prefix": {"type": "com.example.ingress."}},
]


@function("ingress-recorder", subscribe=[{"any": SUBSCRIBED}])
def recorder(event: BaseCloudEvent) -> None:
    line = json.dumps({"pid": os.getpid(), "event": json.loads(to_json(event))})
    fd = os.open(os.environ["EVENTFN_TEST_RECORD"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)
