"""Functions for the tracing end-to-end test (tests/e2e/test_tracing.py).

``ask`` (subscribed to ``com.example.trace.asked``) replies with an answer event;
``answer`` (subscribed to it) fails its first attempt, so the retry is traced too.
"""

from __future__ import annotations

from cloudevents.core.base import BaseCloudEvent

from worker_runtime import Retry, function
from worker_runtime.context import current_delivery


@function("trace-ask", subscribe=[{"exact": {"type": "com.example.trace.asked"}}])
def ask(event: BaseCloudEvent) -> dict[str, object]:
    return {"type": "com.example.trace.answered", "subject": event.get_subject(), "data": {}}


@function(
    "trace-answer",
    subscribe=[{"exact": {"type": "com.example.trace.answered"}}],
    retry=Retry(max_attempts=3, delay=0.1, jitter=0),
)
def answer(event: BaseCloudEvent) -> None:
    if current_delivery().attempt == 1:
        raise ConnectionError("the first attempt fails")
