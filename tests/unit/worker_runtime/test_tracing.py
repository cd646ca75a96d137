"""OpenTelemetry spans of the execution path, recorded by an in-memory SDK exporter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from wr_fakes import RecordingOutbox, body

from broker_bridge.event import new_event
from broker_bridge.tracing import add_trace_ids, current_traceparent, inject, setup_tracing
from tests.support.tracing import sdk_spans
from worker_runtime import PermanentError, Retry
from worker_runtime.context import Delivery, Invocation, Outcome, Result
from worker_runtime.execution import call_handler
from worker_runtime.middleware import DeadLetter, Decode, Replies, Retrying, Tracing, compose
from worker_runtime.registry import FunctionSpec

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
TRACE = f"00-{TRACE_ID}-{PARENT}-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    with sdk_spans() as exporter:
        yield exporter


def run(handler: Any, text: str, outbox: RecordingOutbox, **delivery: Any) -> Result:
    spec = FunctionSpec(name="fn", handler=handler, retry=Retry(max_attempts=2, jitter=0))
    chain = compose(
        [
            Tracing("rabbitmq"),
            DeadLetter(outbox),
            Decode(),
            Retrying(outbox),
            Replies(outbox, "rabbitmq"),
        ],
        call_handler,
    )
    d = Delivery(spec=spec, body=text, task_id="task-1", **delivery)
    return chain(Invocation(delivery=d, attempt=d.attempt))


def test_process_span_is_a_child_of_the_event_and_parents_the_replies(
    spans: InMemorySpanExporter,
) -> None:
    outbox = RecordingOutbox()
    text = body("e1", {"x": 1}, traceparent=TRACE, subject="s/1")
    result = run(lambda e: {"type": "com.example.reply"}, text, outbox)
    assert result.outcome is Outcome.DONE
    finished = {s.name: s for s in spans.get_finished_spans()}
    assert set(finished) == {"process eventfn.fn.fn", "publish eventfn.bridge"}
    process, publish = finished["process eventfn.fn.fn"], finished["publish eventfn.bridge"]
    assert process.kind is SpanKind.CONSUMER
    assert publish.kind is SpanKind.PRODUCER
    assert format(process.context.trace_id, "032x") == TRACE_ID
    assert process.parent is not None
    assert format(process.parent.span_id, "016x") == PARENT
    assert publish.parent is not None
    assert publish.parent.span_id == process.context.span_id
    assert (
        dict(process.attributes or {}).items()
        >= {
            "messaging.system": "rabbitmq",
            "messaging.operation.type": "process",
            "messaging.destination.name": "eventfn.fn.fn",
            "messaging.message.id": "task-1",
            "cloudevents.event_id": "e1",
            "cloudevents.event_type": "com.example.t",
            "cloudevents.event_source": "/unit",
            "cloudevents.event_subject": "s/1",
            "eventfn.function": "fn",
            "eventfn.attempt": 1,
        }.items()
    )
    reply = outbox.replies[0].get_attributes()
    expected = f"00-{TRACE_ID}-{format(publish.context.span_id, '016x')}-01"
    assert reply["traceparent"] == expected


def test_a_retry_links_to_the_attempt_before(spans: InMemorySpanExporter) -> None:
    outbox = RecordingOutbox()
    seen: dict[str, str] = {}

    def fail(event: Any) -> None:
        seen.update(current_traceparent())
        raise ConnectionError("down")

    first = run(fail, body("e2", traceparent=TRACE), outbox)
    assert first.outcome is Outcome.RETRIED
    failed = spans.get_finished_spans()[0]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes is not None
    assert failed.attributes["error.type"] == "builtins.ConnectionError"
    assert [e.name for e in failed.events] == ["exception"]
    # the second attempt, with the header the outbox writes from the active span
    second = run(
        lambda e: None,
        body("e2", traceparent=TRACE),
        outbox,
        attempt=2,
        previous_span=seen["traceparent"],
    )
    assert second.outcome is Outcome.DONE
    retried = spans.get_finished_spans()[1]
    assert [link.context.span_id for link in retried.links] == [failed.context.span_id]
    assert retried.parent is not None
    assert retried.parent.span_id == failed.parent.span_id
    assert retried.attributes is not None
    assert retried.attributes["eventfn.attempt"] == 2


def test_dead_letter_is_a_span_event_with_the_error(spans: InMemorySpanExporter) -> None:
    outbox = RecordingOutbox()

    def refuse(event: Any) -> None:
        raise PermanentError("no such order")

    assert run(refuse, body("e3"), outbox).outcome is Outcome.DEAD_LETTERED
    (span,) = spans.get_finished_spans()
    events = {e.name: e for e in span.events}
    assert set(events) == {"exception", "dead_letter"}
    attributes = dict(events["dead_letter"].attributes or {})
    assert attributes["error.type"] == "worker_runtime.errors.PermanentError"
    assert "no such order" in str(attributes["exception.message"])
    assert attributes["messaging.destination.name"] == "eventfn.fn.fn.dlq"
    assert span.parent is None  # no traceparent: the event starts a trace


def test_an_undecodable_event_gets_a_span_and_its_dead_letter(
    spans: InMemorySpanExporter,
) -> None:
    outbox = RecordingOutbox()
    assert run(lambda e: None, "{not json", outbox).outcome is Outcome.DEAD_LETTERED
    (span,) = spans.get_finished_spans()
    assert {e.name for e in span.events} == {"exception", "dead_letter"}


def test_log_lines_carry_the_active_span_ids(spans: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("x") as span:
        fields = add_trace_ids(None, "info", {"event": "hello"})
    assert fields["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert fields["span_id"] == format(span.get_span_context().span_id, "016x")
    assert "trace_id" not in add_trace_ids(None, "info", {"event": "outside"})
    assert structlog.contextvars.get_contextvars() == {}


def test_inject_keeps_an_existing_traceparent_and_ignores_an_invalid_one(
    spans: InMemorySpanExporter,
) -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("producer") as span:
        kept = inject(new_event({"type": "t", "source": "/s", "traceparent": TRACE}))
        fresh = inject(new_event({"type": "t", "source": "/s"}))
    assert kept.get_attributes()["traceparent"] == TRACE
    ids = format(span.get_span_context().trace_id, "032x")
    assert fresh.get_attributes()["traceparent"].split("-")[1] == ids


def test_no_span_is_recorded_without_an_sdk() -> None:
    outbox = RecordingOutbox()
    assert not setup_tracing("eventfn-test")  # no OTEL_* exporter configured
    assert run(lambda e: {"type": "r"}, body("e4"), outbox).outcome is Outcome.DONE
    assert not trace.get_current_span().is_recording()
    assert "traceparent" not in outbox.replies[0].get_attributes()


@pytest.mark.parametrize(
    ("env", "configured"),
    [
        ({}, False),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_only_the_standard_variables_turn_the_sdk_on(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], configured: bool
) -> None:
    from broker_bridge.tracing.sdk import tracing_configured

    for key in (
        "OTEL_TRACES_EXPORTER",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_SDK_DISABLED",
    ):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert tracing_configured() is configured
