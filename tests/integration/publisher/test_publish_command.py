"""``eventfn publish``: from flags, a JSON file or stdin; to the broker or an ingress."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from kombu import Connection
from support.ingress_server import running_ingress

from broker_bridge import topology
from broker_bridge.bindings.amqp import from_amqp
from broker_bridge.commands.publish import command

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def _events_in(url: str) -> list[Any]:
    with Connection(url) as conn:
        bound = topology.bridge_queue()(conn.channel())
        bound.declare()
        events = []
        while (m := bound.get(no_ack=True)) is not None:
            body = m.body if isinstance(m.body, bytes) else m.body.encode()
            events.append(from_amqp(body, m.headers, m.content_type))
        return events


def _run(args: list[str], url: str, stdin: str | None = None) -> Any:
    result = CliRunner().invoke(
        command, [*args, "--broker", url, "--log-level", "WARNING"], input=stdin
    )
    assert result.exit_code == 0, result.output
    return result


def test_from_flags(embedded_url: str) -> None:
    result = _run(
        ["--type", "com.example.cli", "--source", "/cli", "--subject", "s", "--data", '{"a": 1}'],
        embedded_url,
    )
    (event,) = _events_in(embedded_url)
    assert event.get_id() in result.stdout
    assert event.get_type() == "com.example.cli"
    assert event.get_subject() == "s"
    assert event.get_data() == {"a": 1}
    assert event.get_datacontenttype() == "application/json"
    assert "published 1 event(s)" in result.stderr


def test_from_a_data_file_and_count(embedded_url: str, tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_text("plain words")
    _run(["--type", "t", "--data-file", str(data), "--count", "3", "-q"], embedded_url)
    events = _events_in(embedded_url)
    assert [e.get_data() for e in events] == ["plain words"] * 3
    assert len({e.get_id() for e in events}) == 3


def test_from_a_json_file_with_one_event_or_an_array(embedded_url: str, tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"specversion": "1.0", "id": "f1", "type": "t", "source": "/f"}))
    many = tmp_path / "many.json"
    many.write_text(json.dumps([{"id": f"m{i}", "type": "t", "source": "/f"} for i in range(3)]))
    _run(["--file", str(one)], embedded_url)
    _run(["--file", str(many)], embedded_url)
    assert sorted(e.get_id() for e in _events_in(embedded_url)) == ["f1", "m0", "m1", "m2"]


def test_many_events_from_stdin_json_lines(embedded_url: str) -> None:
    lines = "\n".join(
        json.dumps({"id": f"l{i}", "type": "t", "source": "/stdin", "data": i}) for i in range(2500)
    )
    result = _run(["--file", "-", "--batch-size", "700", "-q"], embedded_url, stdin=lines + "\n\n")
    assert "published 2500 event(s)" in result.stderr
    events = _events_in(embedded_url)
    assert sorted(e.get_data() for e in events) == list(range(2500))


def test_a_bad_line_is_named(embedded_url: str) -> None:
    result = CliRunner().invoke(
        command,
        ["--file", "-", "--broker", embedded_url],
        input='{"type": "t", "source": "/s"}\nnope\n',
    )
    assert result.exit_code != 0
    assert "line 2" in str(result.exception)


def test_to_an_ingress(embedded_url: str) -> None:
    lines = "\n".join(
        json.dumps({"id": f"i{i}", "type": "t", "source": "/ingress"}) for i in range(250)
    )
    with running_ingress(embedded_url, ingress_token="tok") as url:
        result = CliRunner().invoke(
            command,
            ["--file", "-", "--ingress", url + "/", "--token", "tok", "--batch-size", "100", "-q"],
            input=lines,
        )
        assert result.exit_code == 0, result.output
        refused = CliRunner().invoke(command, ["--type", "t", "--ingress", url + "/"])
        assert refused.exit_code != 0
        assert "401" in str(refused.exception)
    assert "published 250 event(s)" in result.stderr
    assert len(_events_in(embedded_url)) == 250
