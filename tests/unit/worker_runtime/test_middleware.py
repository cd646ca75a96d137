"""Each middleware of the execution path alone, with a fake ``call_next``."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import BaseModel
from wr_fakes import RecordingOutbox, body, invocation

from worker_runtime import PermanentError, Retry
from worker_runtime.context import Invocation, Outcome, Result
from worker_runtime.deadletter import HEADER_NAMES
from worker_runtime.execution import call_handler
from worker_runtime.metrics import WorkerMetrics
from worker_runtime.middleware import (
    Attempts,
    DataModel,
    DeadLetter,
    Decode,
    HandlerLost,
    HandlerTimeout,
    Idempotency,
    InvalidEventData,
    InvalidReply,
    Metrics,
    Replies,
    Retrying,
    Timeout,
    Tracing,
)
from worker_runtime.middleware.replies import build_replies
from worker_runtime.registry import FunctionSpec
from worker_runtime.state import MemoryStore


def spec(**options: Any) -> FunctionSpec:
    return FunctionSpec(name="fn", handler=options.pop("handler", lambda e: None), **options)


def failed(error: BaseException) -> Any:
    return lambda inv: Result(Outcome.FAILED, error=error)


def done(value: Any = None) -> Any:
    return lambda inv: Result(Outcome.DONE, value=value)


# -- retry -------------------------------------------------------------------------
def test_retryable_failure_is_republished_with_the_next_attempt_and_policy_delay() -> None:
    outbox = RecordingOutbox()
    s = spec(retry=Retry(max_attempts=4, delay=2.0, max_delay=60, jitter=0))
    inv = invocation(s, attempt=2, first_failure="2026-01-01T00:00:00Z")
    result = Retrying(outbox)(inv, failed(ConnectionError("x")))
    assert result.outcome is Outcome.RETRIED
    assert outbox.retries == [
        {"attempt": 3, "delay": 4.0, "first_failure": "2026-01-01T00:00:00Z", "defers": 0}
    ]


@pytest.mark.parametrize(
    ("error", "attempt"), [(PermanentError("no"), 1), (ConnectionError("x"), 3)]
)
def test_permanent_or_exhausted_failures_are_not_retried(error: Exception, attempt: int) -> None:
    outbox = RecordingOutbox()
    inv = invocation(spec(retry=Retry(max_attempts=3)), attempt=attempt)
    assert Retrying(outbox)(inv, failed(error)).outcome is Outcome.FAILED
    assert outbox.retries == []


def test_first_retry_records_the_first_failure_time() -> None:
    outbox = RecordingOutbox()
    Retrying(outbox, random.Random(1))(invocation(spec()), failed(ValueError("x")))
    assert outbox.retries[0]["first_failure"].endswith("Z")


# -- dead letters ------------------------------------------------------------------
def test_failure_is_dead_lettered_with_every_extension() -> None:
    outbox = RecordingOutbox()
    inv = invocation(spec(), attempt=3, first_failure="2026-01-01T00:00:00Z")
    result = DeadLetter(outbox)(inv, failed(PermanentError("bad order")))
    assert result.outcome is Outcome.DEAD_LETTERED
    ((delivery, headers),) = outbox.dead_letters
    assert delivery.body == inv.delivery.body
    assert set(headers) == set(HEADER_NAMES)
    assert headers["eventfnattempts"] == 3
    assert headers["eventfnerror"] == "bad order"
    assert headers["eventfnfirstfailure"] == "2026-01-01T00:00:00Z"
    assert headers["eventfnlastfailure"] >= headers["eventfnfirstfailure"]


def test_success_is_not_dead_lettered() -> None:
    outbox = RecordingOutbox()
    assert DeadLetter(outbox)(invocation(spec()), done()).outcome is Outcome.DONE
    assert outbox.dead_letters == []


def test_undecodable_body_fails_permanently() -> None:
    inv = invocation(spec())
    inv.delivery = type(inv.delivery)(spec=inv.spec, body="{not json", task_id="t")
    inv.event = None  # not decoded yet
    result = Decode()(inv, done())
    assert result.outcome is Outcome.FAILED
    assert type(result.error).__name__ == "InvalidEventError"


# -- idempotency -------------------------------------------------------------------
def test_idempotency_runs_once_then_skips_duplicates() -> None:
    store, outbox = MemoryStore(), RecordingOutbox()
    s = spec(idempotent=True)
    middleware = Idempotency(store, outbox, ttl=60)
    calls: list[Invocation] = []

    def run(inv: Invocation) -> Result:
        calls.append(inv)
        return Result(Outcome.DONE)

    assert middleware(invocation(s), run).outcome is Outcome.DONE
    assert middleware(invocation(s), run).outcome is Outcome.DUPLICATE
    assert len(calls) == 1
    assert middleware(invocation(s, body("other")), run).outcome is Outcome.DONE


def test_idempotency_defers_a_duplicate_running_elsewhere() -> None:
    store, outbox = MemoryStore(), RecordingOutbox()
    s = spec(idempotent=True)
    middleware = Idempotency(store, outbox, ttl=60)

    def run(inv: Invocation) -> Result:
        inner = middleware(invocation(s, defers=2), done())
        assert inner.outcome is Outcome.DEFERRED
        return Result(Outcome.DONE)

    middleware(invocation(s), run)
    assert outbox.retries == [{"attempt": 1, "delay": 1.0, "first_failure": None, "defers": 3}]


def test_idempotency_releases_the_key_when_the_event_did_not_complete() -> None:
    store, outbox = MemoryStore(), RecordingOutbox()
    s = spec(idempotent=True)
    middleware = Idempotency(store, outbox, ttl=60)
    assert middleware(invocation(s), failed(ValueError())).outcome is Outcome.FAILED
    assert middleware(invocation(s), done()).outcome is Outcome.DONE


def test_non_idempotent_functions_skip_the_store() -> None:
    store = MemoryStore()
    middleware = Idempotency(store, RecordingOutbox(), ttl=60)
    for _ in range(2):
        assert middleware(invocation(spec()), done()).outcome is Outcome.DONE


# -- attempts ----------------------------------------------------------------------
def test_a_redelivery_after_a_started_attempt_counts_as_the_next_attempt() -> None:
    store = MemoryStore()
    s = spec(retry=Retry(max_attempts=3))
    seen: list[int] = []

    def run(inv: Invocation) -> Result:
        seen.append(inv.attempt)
        return Result(Outcome.DONE)

    attempts = Attempts(store, 60)
    attempts(invocation(s), run)  # attempt 1 starts (and "dies")
    attempts(invocation(s, redelivered=True), run)  # redelivered: attempt 2
    result = attempts(invocation(s, redelivered=True), run)  # attempt 3
    assert seen == [1, 2, 3]
    assert result.outcome is Outcome.DONE
    lost = Attempts(store, 60)(invocation(s, redelivered=True), run)
    assert isinstance(lost.error, HandlerLost)
    assert seen == [1, 2, 3]


def test_a_redelivery_of_a_message_that_never_started_keeps_its_attempt() -> None:
    seen: list[int] = []
    Attempts(MemoryStore(), 60)(
        invocation(spec(), attempt=2, redelivered=True),
        lambda inv: seen.append(inv.attempt) or Result(Outcome.DONE),
    )
    assert seen == [2]


# -- timeout -----------------------------------------------------------------------
def test_soft_timeout_interrupts_a_sync_handler() -> None:
    def handler(event: Any) -> None:
        end = time.monotonic() + 60
        while time.monotonic() < end:
            time.sleep(0.01)

    s = spec(handler=handler, timeout=0.05)
    result = Timeout()(invocation(s), call_handler)
    assert isinstance(result.error, HandlerTimeout)
    assert result.outcome is Outcome.FAILED


def test_soft_timeout_interrupts_an_async_handler() -> None:
    async def handler(event: Any) -> None:
        await asyncio.sleep(60)

    s = spec(handler=handler, timeout=0.05)
    result = Timeout()(invocation(s), call_handler)
    assert isinstance(result.error, HandlerTimeout)


# -- typed data --------------------------------------------------------------------
class Order(BaseModel):
    order_id: int


def test_data_model_hands_over_the_model() -> None:
    got: list[Any] = []
    s = spec(data_model=Order, handler=lambda e: got.append(e.get_data()))
    result = DataModel()(invocation(s, body(data={"order_id": "7"})), call_handler)
    assert result.outcome is Outcome.DONE
    assert got == [Order(order_id=7)]


def test_invalid_data_is_a_permanent_failure_with_the_errors() -> None:
    s = spec(data_model=Order)
    result = DataModel()(invocation(s, body(data={"order_id": "x"})), call_handler)
    assert isinstance(result.error, InvalidEventData)
    assert isinstance(result.error, PermanentError)
    assert result.error.errors[0]["loc"] == ["order_id"]


# -- replies and tracing -----------------------------------------------------------
TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_replies_get_defaults_and_deterministic_ids() -> None:
    s = spec()
    inv = invocation(s, body(eventfnhops=4, traceparent=TRACE))
    value = [{"type": "a", "data": {"x": 1}}, {"type": "b", "source": "/mine", "id": "own"}]
    first = build_replies(inv, value)
    again = build_replies(inv, value)
    assert [r.get_source() for r in first] == ["eventfn://functions/fn", "/mine"]
    assert first[0].get_id() == again[0].get_id() != first[1].get_id()
    assert first[1].get_id() == "own"
    assert {r.get_attributes()["eventfnhops"] for r in first} == {5}
    assert "traceparent" not in first[0].get_attributes()  # the publish span writes it


def test_without_an_sdk_replies_carry_the_incoming_trace_context() -> None:
    outbox = RecordingOutbox()
    s = spec()
    inv = invocation(s, body(traceparent=TRACE, tracestate="k=v"))
    inv.event = None  # the tracing middleware decodes it
    chain = Tracing()
    result = chain(inv, lambda i: Replies(outbox)(i, done({"type": "a"})))
    assert result.outcome is Outcome.DONE
    reply = outbox.replies[0].get_attributes()
    # the API alone records nothing and passes the context on unchanged
    assert (reply["traceparent"], reply["tracestate"]) == (TRACE, "k=v")


@pytest.mark.parametrize("value", [42, ["x"], [{"type": "a", "source": ""}]])
def test_invalid_replies_are_refused(value: Any) -> None:
    with pytest.raises(InvalidReply):
        build_replies(invocation(spec()), value)


# -- metrics -----------------------------------------------------------------------
def test_metrics_count_outcomes_and_failures() -> None:
    registry = CollectorRegistry()
    middleware = Metrics(WorkerMetrics(registry))
    inv = invocation(spec())
    middleware(inv, lambda i: Result(Outcome.DONE, duration=0.01))
    middleware(inv, lambda i: Result(Outcome.RETRIED, error=ValueError(), duration=0.01))
    middleware(inv, lambda i: Result(Outcome.DEAD_LETTERED, error=PermanentError()))
    middleware(inv, lambda i: Result(Outcome.DUPLICATE))

    def value(name: str) -> float:
        return registry.get_sample_value(name, {"function": "fn"}) or 0.0

    assert value("eventfn_events_handled_total") == 1
    assert value("eventfn_events_retried_total") == 1
    assert value("eventfn_events_dead_lettered_total") == 1
    assert value("eventfn_events_duplicate_skipped_total") == 1
    assert value("eventfn_events_failed_total") == 2
    assert value("eventfn_handler_duration_seconds_count") == 2
    assert value("eventfn_handlers_in_flight") == 0


def test_markers_reach_the_store_only_for_handlers_still_running() -> None:
    from worker_runtime.markers import DelayedMarker
    from worker_runtime.testing import wait_until

    marked: list[str] = []

    class Recording(MemoryStore):
        def mark(self, key: str, ttl: float) -> None:
            marked.append(key)

    marker = DelayedMarker(Recording(), after=0.01)
    marker.schedule("quick", 60).cancel()
    marker.schedule("long", 60)  # never cancelled: the handler is still running
    wait_until(lambda: marked, timeout=10)
    assert marked == ["long"], "a finished handler leaves no marker"
