"""One event's trace across real processes, received by an in-test OTLP/HTTP receiver.

HTTP client -> ``eventfn ingress`` -> ``eventfn bridge`` -> ``eventfn worker trace-ask``
-> reply -> bridge -> ``eventfn worker trace-answer`` (fails once, retried). Every
process exports with the OpenTelemetry SDK, configured by ``OTEL_*`` only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.otlp_receiver import ReceivedSpan, otlp_receiver
from worker_runtime.testing import EventfnProcess, wait_until

FUNCTIONS = str(Path(__file__).with_name("traced.py"))
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
UPSTREAM = "b7ad6b7169203331"  # the span of a producer upstream of the ingress

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

PRODUCER, CONSUMER = 4, 5  # OTLP SpanKind
ERROR = 2  # OTLP StatusCode


def _pipeline(tmp_path: Path, env: dict[str, str]) -> Iterator[str]:
    started: list[EventfnProcess] = []
    try:
        for name, args, ready in [
            ("bridge", ["bridge", "--functions", FUNCTIONS], "bridge consuming"),
            ("ask", ["worker", "trace-ask", "--functions", FUNCTIONS, "-c", "1"], "ready."),
            ("answer", ["worker", "trace-answer", "--functions", FUNCTIONS, "-c", "1"], "ready."),
            ("ingress", ["ingress", "--functions", FUNCTIONS, "--port", "0"], "ingress listening"),
        ]:
            process = EventfnProcess(
                args, log_path=tmp_path / f"{name}.log", env=env, cwd=tmp_path, ready_line=ready
            )
            started.append(process.start(timeout=120))
        log = started[-1].log_text()
        line = next(json.loads(x) for x in log.splitlines() if "ingress listening" in x)
        yield f"http://127.0.0.1:{line['port']}"
    finally:
        for process in reversed(started):
            process.terminate(grace=60)


def _post(url: str, event_id: str, traceparent: str | None = None) -> None:
    event: dict[str, Any] = {
        "specversion": "1.0",
        "type": "com.example.trace.asked",
        "source": "/e2e/trace",
        "id": event_id,
        "subject": "q/1",
        "data": {"q": 1},
    }
    if traceparent:
        event["traceparent"] = traceparent
    headers = {"content-type": "application/cloudevents+json"}
    response = httpx.post(url + "/", content=json.dumps(event), headers=headers, timeout=60)
    assert response.status_code == 202, response.text


def _one(spans: list[ReceivedSpan], service: str, name: str, **attrs: Any) -> ReceivedSpan:
    found = [
        s
        for s in spans
        if s.service == service
        and s.name == name
        and all(s.attributes.get(k) == v for k, v in attrs.items())
    ]
    assert len(found) == 1, f"{service} {name} {attrs}: {len(found)} spans in {spans}"
    return found[0]


@pytest.mark.parametrize("broker", ["rabbitmq"], indirect=True)
def test_one_trace_from_the_ingress_through_replies_and_retries(
    broker: Any, tmp_path: Path
) -> None:
    broker.reset(["trace-ask", "trace-answer"])
    with otlp_receiver() as receiver:
        env = {
            "EVENTFN_BROKER_URL": broker.url,
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        for _ in _pipeline(tmp_path, env):
            _post(_, "ask-1", f"00-{TRACE_ID}-{UPSTREAM}-01")

            def complete() -> bool:
                names = [s.name for s in receiver.snapshot() if s.trace_id == TRACE_ID]
                return names.count("process eventfn.fn.trace-answer") >= 2

            wait_until(complete, timeout=120, message=lambda: f"spans: {receiver.snapshot()}")
        spans = receiver.snapshot()
    _print_tree(spans)
    assert {s.trace_id for s in spans} == {TRACE_ID}, "every span is in the event's trace"

    ingress = _one(spans, "eventfn-ingress", "publish eventfn.bridge")
    assert ingress.parent_id == UPSTREAM
    assert ingress.kind == PRODUCER
    assert ingress.attributes["messaging.system"] == "rabbitmq"
    assert ingress.attributes["cloudevents.event_id"] == "ask-1"
    assert ingress.attributes["cloudevents.event_type"] == "com.example.trace.asked"
    assert ingress.attributes["cloudevents.event_source"] == "/e2e/trace"
    assert ingress.attributes["cloudevents.event_subject"] == "q/1"

    # the incoming traceparent was kept (CloudEvents conventions): the event's context
    # is the upstream producer's, so route and process hang below it
    routes = [s for s in spans if s.service == "eventfn-bridge"]
    assert [s.name for s in routes] == ["route eventfn.bridge"] * 2
    ask = _one(spans, "eventfn-worker", "process eventfn.fn.trace-ask")
    assert ask.kind == CONSUMER
    assert ask.parent_id == UPSTREAM
    assert ask.attributes["eventfn.function"] == "trace-ask"
    assert ask.attributes["eventfn.attempt"] == 1
    assert ask.attributes["messaging.destination.name"] == "eventfn.fn.trace-ask"

    reply = _one(spans, "eventfn-worker", "publish eventfn.bridge")
    assert reply.parent_id == ask.span_id
    assert reply.kind == PRODUCER
    assert reply.attributes["cloudevents.event_type"] == "com.example.trace.answered"
    assert {r.parent_id for r in routes} == {UPSTREAM, reply.span_id}

    first = _one(
        spans, "eventfn-worker", "process eventfn.fn.trace-answer", **{"eventfn.attempt": 1}
    )
    second = _one(
        spans, "eventfn-worker", "process eventfn.fn.trace-answer", **{"eventfn.attempt": 2}
    )
    assert first.parent_id == second.parent_id == reply.span_id
    assert first.status == ERROR
    assert first.attributes["error.type"] == "builtins.ConnectionError"
    assert second.links == [(TRACE_ID, first.span_id)], "the retry links to the attempt before"
    assert second.attributes["eventfn.outcome"] == "done"


@pytest.mark.parametrize("broker", ["rabbitmq"], indirect=True)
def test_no_span_without_an_sdk_configured(broker: Any, tmp_path: Path) -> None:
    broker.reset(["trace-ask", "trace-answer"])
    with otlp_receiver() as receiver:
        # an endpoint is named but the exporter is "none": the API alone, no SDK
        env = {
            "EVENTFN_BROKER_URL": broker.url,
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "OTEL_TRACES_EXPORTER": "none",
        }
        for url in _pipeline(tmp_path, env):
            _post(url, "ask-2")
            log = tmp_path / "answer.log"
            wait_until(lambda path=log: "succeeded" in path.read_text(), timeout=120)
        assert receiver.requests == 0
        assert receiver.snapshot() == []


def _print_tree(spans: list[ReceivedSpan]) -> None:
    """The trace as text (docs/observability.md shows it): run with -s to see it."""
    children: dict[str, list[ReceivedSpan]] = {}
    ids = {s.span_id for s in spans}
    for s in sorted(spans, key=lambda s: s.start):
        children.setdefault(s.parent_id if s.parent_id in ids else "", []).append(s)

    def show(parent: str, depth: int) -> None:
        for s in children.get(parent, []):
            ms = (s.end - s.start) / 1e6
            extra = (
                f" attempt={s.attributes.get('eventfn.attempt')}"
                if "eventfn.attempt" in s.attributes
                else ""
            )
            link = " (link: previous attempt)" if s.links else ""
            err = " ERROR" if s.status == ERROR else ""
            print(f"{'  ' * depth}{s.service}: {s.name}{extra} {ms:.1f} ms{err}{link}")
            show(s.span_id, depth + 1)

    print(f"trace {spans[0].trace_id if spans else '-'}")
    show("", 1)
