"""The pytest plugin's ``eventfn_processes`` fixture: real ``eventfn bridge`` and
``eventfn worker`` subprocesses, outcomes observed through the recording hook.

Runs on the default embedded broker and on RabbitMQ named by
``EVENTFN_TEST_BROKER_URL`` (as a user's RabbitMQ tier does).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from worker_runtime.testing import ProcessHarness, TimedOut

FUNCTIONS = Path(__file__).resolve().parents[2] / "fixtures" / "kit" / "invoke_functions.py"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(600),
    pytest.mark.eventfn_functions(str(FUNCTIONS)),
]


@pytest.fixture(params=["embedded", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
def test_broker(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Chooses the broker through the variable users set (before eventfn_processes)."""
    if request.param == "rabbitmq":
        url = request.getfixturevalue("rabbitmq_url")
        monkeypatch.setenv("EVENTFN_TEST_BROKER_URL", url)
        return str(url)
    monkeypatch.delenv("EVENTFN_TEST_BROKER_URL", raising=False)
    return "embedded"


def test_processes_fixture_routes_retries_and_dead_letters(
    test_broker: str, eventfn_processes: ProcessHarness, tmp_path: Path
) -> None:
    harness: Any = eventfn_processes
    if test_broker == "embedded":
        assert harness.url.startswith(f"sqlite://localhost/{tmp_path}")
    else:
        assert harness.url == test_broker
    assert harness.fast_retries is False
    assert sorted(harness.workers) == ["inv-echo", "inv-flaky"]
    assert "ready." in harness.log_text("inv-echo")

    event_id = harness.publish(
        {"type": "com.example.inv.ping", "source": "/tests/kit", "data": [1, "two"]}
    )
    [echoed] = harness.wait_for("inv-echo", timeout=120)
    assert echoed.event.get_id() == event_id
    assert echoed.event.get_data() == [1, "two"]
    assert echoed.result == {"type": "com.example.inv.pong", "data": {"echo": [1, "two"]}}
    [reply] = harness.replies
    assert reply.get_source() == "eventfn://functions/inv-echo"
    assert reply.get_data() == {"echo": [1, "two"]}

    flaky = harness.send("inv-flaky", "once")
    refused = harness.send("inv-flaky", "permanent")
    handled = harness.wait_for("inv-flaky", count=2, timeout=120)
    outcomes = {h.event.get_id(): (h.outcome, h.attempts) for h in handled}
    assert outcomes == {flaky: ("ok", 2), refused: ("dead_lettered", 1)}
    [letter] = harness.wait_for_dead_letters("inv-flaky", timeout=120)
    assert (letter.event.get_id(), letter.error_type) == (
        refused,
        "worker_runtime.errors.PermanentError",
    )

    with pytest.raises(TimedOut) as caught:
        harness.wait_for("inv-echo", count=2, timeout=0.5)
    assert "process logs:" in str(caught.value)
    assert str(harness.work_dir / "worker-inv-echo.log") in str(caught.value)
