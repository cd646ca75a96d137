"""The composed execution path with a recording outbox and an in-memory store."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from wr_fakes import RecordingOutbox, body

from worker_runtime import PermanentError, Registry, Retry, function
from worker_runtime.context import Delivery, Outcome, current_delivery
from worker_runtime.execution import build_pipeline, execute
from worker_runtime.metrics import WorkerMetrics
from worker_runtime.state import MemoryStore


def pipeline_for(registry: Registry, name: str, outbox: RecordingOutbox) -> Any:
    return build_pipeline(
        registry.get(name),
        outbox=outbox,
        store=MemoryStore(),
        metrics=WorkerMetrics(CollectorRegistry()),
    )


def test_failing_twice_then_succeeding(registry: Registry) -> None:
    attempts: list[int] = []

    @function("flaky", retry=Retry(max_attempts=5, delay=1.0, jitter=0))
    def flaky(event: Any) -> None:
        attempts.append(current_delivery().attempt)
        if len(attempts) < 3:
            raise ConnectionError("down")

    outbox = RecordingOutbox()
    pipeline = pipeline_for(registry, "flaky", outbox)
    spec = registry.get("flaky")
    outcomes = []
    for attempt in (1, 2, 3):
        delivery = Delivery(spec=spec, body=body(), task_id="t", attempt=attempt)
        outcomes.append(pipeline.run(delivery).outcome)
    assert outcomes == [Outcome.RETRIED, Outcome.RETRIED, Outcome.DONE]
    assert attempts == [1, 2, 3]
    assert [(r["attempt"], r["delay"]) for r in outbox.retries] == [(2, 1.0), (3, 2.0)]


def test_permanent_error_goes_straight_to_the_dead_letter_queue(registry: Registry) -> None:
    @function("doomed", retry=Retry(max_attempts=5))
    def doomed(event: Any) -> None:
        raise PermanentError("never")

    outbox = RecordingOutbox()
    text = body(data={"k": "v"})
    result = pipeline_for(registry, "doomed", outbox).run(
        Delivery(spec=registry.get("doomed"), body=text, task_id="t")
    )
    assert result.outcome is Outcome.DEAD_LETTERED
    assert outbox.retries == []
    assert outbox.dead_letters[0][0].body == text


@pytest.mark.parametrize("idempotent", [True, False])
def test_replies_are_published_and_duplicates_skipped(registry: Registry, idempotent: bool) -> None:
    calls: list[str] = []

    @function("echo", idempotent=idempotent)
    async def echo(event: Any) -> dict[str, Any]:
        calls.append(event.get_id())
        return {"type": "echoed", "data": event.get_data()}

    outbox = RecordingOutbox()
    pipeline = pipeline_for(registry, "echo", outbox)
    delivery = Delivery(spec=registry.get("echo"), body=body(data=[1]), task_id="t")
    first, second = pipeline.run(delivery), pipeline.run(delivery)
    assert first.outcome is Outcome.DONE
    assert second.outcome is (Outcome.DUPLICATE if idempotent else Outcome.DONE)
    assert len(calls) == (1 if idempotent else 2)
    assert outbox.replies[0].get_data() == [1]
    assert outbox.replies[0].get_source() == "eventfn://functions/echo"


def test_execute_runs_a_handler_without_a_broker(registry: Registry) -> None:
    function("plain")(lambda event: event.get_id())
    result = execute(registry.get("plain"), body("abc"))
    assert (result.outcome, result.value) == (Outcome.DONE, "abc")


def test_current_delivery_outside_a_handler_is_an_error() -> None:
    with pytest.raises(LookupError):
        current_delivery()
