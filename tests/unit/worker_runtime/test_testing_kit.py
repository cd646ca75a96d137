"""The pytest plugin's in-process harness (``eventfn`` fixture) against real parts.

The bridge and the function threads run on an embedded broker in ``tmp_path``;
every event goes through the real execution path (retries republished, dead
letters in the real DLQ, idempotency in the SQLite store, replies routed back).
Functions: tests/fixtures/kit/kit_functions.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from broker_bridge.event import new_event
from broker_bridge.formats.json import to_json
from worker_runtime import UnknownFunction
from worker_runtime.context import Outcome
from worker_runtime.recording import RecordEntry, entry_to_json
from worker_runtime.testing import Handled, InProcessHarness, TimedOut, wait_until
from worker_runtime.testing.records import attempt_from_entry, attempt_from_json

KIT = Path(__file__).resolve().parents[2] / "fixtures" / "kit" / "kit_functions.py"

pytestmark = pytest.mark.eventfn_functions(str(KIT))


def test_the_marker_chooses_the_functions_module(eventfn_functions: str) -> None:
    assert eventfn_functions == str(KIT)


def test_the_ini_option_defaults_to_the_functions_package(
    request: pytest.FixtureRequest,
) -> None:
    assert request.config.getini("eventfn_functions") == "functions"
    assert request.config.getini("eventfn_fast_retries") is True


def test_published_event_is_routed_and_its_reply_routed_on(eventfn: InProcessHarness) -> None:
    event_id = eventfn.publish(
        {"type": "com.example.kit.ping", "source": "/tests/kit", "data": {"n": 1}}
    )
    [echoed] = eventfn.wait_for("kit-echo")
    assert isinstance(echoed, Handled)
    assert echoed.event is not None
    assert echoed.event.get_id() == event_id
    assert echoed.event.get_data() == {"n": 1}
    assert echoed.result == {"type": "com.example.kit.pong", "data": {"n": 1}}
    assert (echoed.outcome, echoed.attempts, echoed.error) == ("ok", 1, None)

    [sunk] = eventfn.wait_for("kit-sink")
    [reply] = eventfn.replies
    assert reply.get_type() == "com.example.kit.pong"
    assert reply.get_source() == "eventfn://functions/kit-echo"
    assert sunk.event is not None
    assert sunk.event.get_id() == reply.get_id()
    assert eventfn.handled("kit-flaky") == []


def test_send_goes_straight_to_an_unsubscribed_function(eventfn: InProcessHarness) -> None:
    event_id = eventfn.send("kit-typed", {"id": "o-1", "total": 42}, subject="order/1", tenant="a")
    [done] = eventfn.wait_for("kit-typed")
    assert done.result == {"type": "com.example.kit.total", "data": {"total": 42}}
    event = done.event
    assert event is not None
    assert event.get_id() == event_id
    assert event.get_type() == "eventfn.invoke.kit-typed"
    assert event.get_source() == "/eventfn/invoke"
    assert event.get_subject() == "order/1"
    assert event.get_attributes()["tenant"] == "a"
    assert event.get_data() == {"id": "o-1", "total": 42}, "as delivered, not the model"


def test_handlers_send_to_the_harness_broker(eventfn: InProcessHarness) -> None:
    eventfn.send("kit-fanout", "go")
    [echoed] = eventfn.wait_for("kit-echo")
    assert echoed.event is not None
    assert echoed.event.get_subject() == "fanout"
    assert eventfn.wait_for("kit-sink")[0].ok


def test_fast_retries_skip_the_backoff_delay(eventfn: InProcessHarness) -> None:
    # kit-flaky waits 30 s before each retry; fast retries run them at once
    assert eventfn.fast_retries is True
    eventfn.send("kit-flaky")
    [done] = eventfn.wait_for("kit-flaky", timeout=60)
    assert (done.outcome, done.attempts, done.error) == ("ok", 3, None)
    outcomes = [(a.outcome, a.attempt) for a in eventfn.attempts() if a.function == "kit-flaky"]
    assert outcomes == [("retried", 1), ("retried", 2), ("done", 3)]


def test_without_fast_retries_the_retry_waits_and_the_timeout_says_why(
    eventfn: InProcessHarness,
) -> None:
    eventfn.fast_retries = False
    event_id = eventfn.send("kit-flaky")
    wait_until(  # the first attempt is recorded as retried...
        lambda: any(a.outcome == "retried" for a in eventfn.attempts()), timeout=30
    )
    with pytest.raises(TimedOut) as caught:  # ...and the second is 30 s away
        eventfn.wait_for("kit-flaky", timeout=0.5)
    message = str(caught.value)
    assert "'kit-flaky' (have 0)" in message
    assert f"id={event_id} attempt 1: retried" in message


def test_permanent_failure_is_dead_lettered_at_once(eventfn: InProcessHarness) -> None:
    event_id = eventfn.send("kit-doomed", "payload")
    [letter] = eventfn.wait_for_dead_letters("kit-doomed")
    assert letter.event is not None
    assert letter.event.get_id() == event_id
    assert letter.event.get_data() == "payload"
    assert letter.error_type == "worker_runtime.errors.PermanentError"
    assert letter.error_message == f"cannot handle {event_id}"
    assert letter.attempts == 1
    [handled] = eventfn.wait_for("kit-doomed")
    assert handled.outcome == "dead_lettered"
    assert handled.error == f"PermanentError: cannot handle {event_id}"
    assert handled.result is None
    assert len(eventfn.dead_letters("kit-doomed")) == 1, "listing leaves them in the queue"


def test_exhausted_retries_are_dead_lettered_with_the_attempt_count(
    eventfn: InProcessHarness,
) -> None:
    eventfn.send("kit-exhausted")
    [handled] = eventfn.wait_for("kit-exhausted")
    assert (handled.outcome, handled.attempts) == ("dead_lettered", 2)
    assert handled.error == "ValueError: still broken"
    [letter] = eventfn.wait_for_dead_letters("kit-exhausted")
    assert (letter.error_type, letter.attempts) == ("builtins.ValueError", 2)


def test_invalid_typed_data_is_dead_lettered_without_a_call(eventfn: InProcessHarness) -> None:
    eventfn.send("kit-typed", {"id": "o-2"})
    [handled] = eventfn.wait_for("kit-typed")
    assert handled.outcome == "dead_lettered"
    assert handled.error_type == "worker_runtime.middleware.datamodel.InvalidEventData"


def test_a_duplicate_of_an_idempotent_function_is_reported(eventfn: InProcessHarness) -> None:
    eventfn.send("kit-once", {"n": 1}, id="same-id", source="/tests/kit")
    eventfn.send("kit-once", {"n": 1}, id="same-id", source="/tests/kit")
    handled = eventfn.wait_for("kit-once", count=2)
    assert [h.outcome for h in handled] == ["ok", "duplicate"]


def test_unknown_functions_are_refused(eventfn: InProcessHarness) -> None:
    with pytest.raises(UnknownFunction, match=r"'kit-nope'.*known: kit-doomed"):
        eventfn.send("kit-nope", {})
    with pytest.raises(UnknownFunction):
        eventfn.wait_for("kit-nope")
    with pytest.raises(UnknownFunction):
        eventfn.dead_letters("kit-nope")


def test_wait_for_accepts_the_decorated_handler(eventfn: InProcessHarness) -> None:
    import eventfn_user_kit_functions as kit  # loaded by path by the fixture

    kit.echo.send({"direct": True})
    [handled] = eventfn.wait_for(kit.echo)
    assert handled.event is not None
    assert handled.event.get_data() == {"direct": True}


def test_timeout_lists_what_other_functions_did(eventfn: InProcessHarness) -> None:
    eventfn.send("kit-echo", {"n": 2})
    eventfn.wait_for("kit-sink")
    with pytest.raises(TimedOut) as caught:
        eventfn.wait_for("kit-once", timeout=0.2)
    message = str(caught.value)
    assert "recorded for 'kit-once': 0 deliveries" in message
    assert "other functions finished: kit-echo: 1, kit-sink: 1" in message


def test_the_harness_restores_the_broker_environment(tmp_path: Path, monkeypatch: Any) -> None:
    from worker_runtime.testing.loading import registry_for

    monkeypatch.setenv("EVENTFN_BROKER_URL", "redis://127.0.0.1:1/0")
    harness = InProcessHarness(registry_for(str(KIT)), tmp_path / "h")
    with harness:
        assert os.environ["EVENTFN_BROKER_URL"] == harness.url
        assert harness.url.startswith("sqlite://")
    assert os.environ["EVENTFN_BROKER_URL"] == "redis://127.0.0.1:1/0"


# -- the recording hook's JSON form (what worker subprocesses write) ----------------------
def test_a_recorded_line_reads_back_as_the_same_handled() -> None:
    event = new_event({"type": "t", "source": "/s", "id": "e-1"}, {"k": "v"})
    reply = new_event({"type": "r", "source": "/fn", "id": "r-1"}, [1, 2])
    entry = RecordEntry(
        function="rec",
        outcome=Outcome.DONE,
        attempt=2,
        max_attempts=3,
        body=to_json(event).decode(),
        task_id="task",
        value=[reply, {"type": "x", "data": b"raw"}],
        replies=(reply,),
    )
    line = json.loads(json.dumps(entry_to_json(entry)))
    from_line = attempt_from_json(line).handled
    live = attempt_from_entry(entry).handled
    assert from_line is not None
    assert live is not None
    assert from_line.outcome == live.outcome == "ok"
    assert from_line.attempts == live.attempts == 2
    assert from_line.event is not None
    assert from_line.event.get_data() == {"k": "v"}
    assert from_line.replies[0].get_id() == "r-1"
    assert from_line.result[0].get_data() == [1, 2], "events in results come back as events"
    assert from_line.result[1] == {"type": "x", "data": "raw"}


def test_a_recorded_failure_keeps_its_type_and_message() -> None:
    entry = RecordEntry(
        function="rec",
        outcome=Outcome.DEAD_LETTERED,
        attempt=1,
        max_attempts=1,
        body="not json",
        task_id="task",
        error=KeyError("gone"),
    )
    line = entry_to_json(entry)
    assert line["event"] is None
    assert line["body"] == "not json"
    handled = attempt_from_json(json.loads(json.dumps(line))).handled
    assert handled is not None
    assert (handled.outcome, handled.error_type) == ("dead_lettered", "builtins.KeyError")
    assert handled.error == "KeyError: 'gone'"
    assert handled.event is None


@pytest.mark.parametrize("outcome", [Outcome.RETRIED, Outcome.DEFERRED])
def test_unfinished_attempts_are_recorded_but_not_handled(outcome: Outcome) -> None:
    entry = RecordEntry(
        function="rec", outcome=outcome, attempt=1, max_attempts=3, body="{}", task_id="t"
    )
    attempt = attempt_from_json(entry_to_json(entry))
    assert (attempt.outcome, attempt.handled) == (outcome.value, None)


def _pipeline(handler: Any) -> Any:
    from worker_runtime.execution import Pipeline
    from worker_runtime.middleware import Decode
    from worker_runtime.registry import FunctionSpec

    return Pipeline(FunctionSpec(name="rec", handler=handler), [Decode()])


def test_a_failing_recorder_never_changes_the_outcome() -> None:
    from worker_runtime.context import Delivery
    from worker_runtime.recording import with_recording

    def broken(entry: RecordEntry) -> None:
        raise OSError("disk full")

    pipeline = with_recording(_pipeline(lambda event: None), broken)
    body = to_json(new_event({"type": "t", "source": "/s"})).decode()
    result = pipeline.run(Delivery(spec=pipeline.spec, body=body, task_id="t"))
    assert result.outcome is Outcome.DONE


def test_the_json_lines_recorder_appends_one_line_per_delivery(tmp_path: Path) -> None:
    from worker_runtime.context import Delivery
    from worker_runtime.recording import JsonLinesRecorder, with_recording

    path = tmp_path / "records.jsonl"
    pipeline = with_recording(_pipeline(lambda event: None), JsonLinesRecorder(path))
    for n in range(3):
        body = to_json(new_event({"type": "t", "source": "/s", "id": f"e-{n}"}, "ü")).decode()
        pipeline.run(Delivery(spec=pipeline.spec, body=body, task_id=f"t{n}"))
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(ln["event"]["id"], ln["outcome"], ln["pid"]) for ln in lines] == [
        (f"e-{n}", "done", os.getpid()) for n in range(3)
    ]
    assert lines[0]["event"]["data"] == "ü"
