"""The official CESQL v1 TCK (cloudevents/spec ``cesql/cesql_tck``), read at test time.

The YAML files live outside the repo (``../shared/cloudevents-tck/cesql`` next to the
checkout, or ``$EVENTFN_TCK_DIR/cesql``); a missing folder fails the run, never skips.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from broker_bridge import cesql

EXPECTED_FILES = 18
EXPECTED_CASES = 275
DEFAULT_EVENT = {
    "specversion": "1.0",
    "id": "tck-event-1",
    "source": "https://example.com/tck",
    "type": "io.cloudevents.tck",
}


def tck_root() -> Path:
    override = os.environ.get("EVENTFN_TCK_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[4] / ".." / "shared" / "cloudevents-tck"


class _TckLoader(yaml.SafeLoader):
    """Safe loader that keeps expressions as written and timestamps as text."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        for key_node, value_node in node.value:
            if key_node.value == "expression" and isinstance(value_node, yaml.ScalarNode):
                mapping["expression"] = value_node.value  # TRUE, 0, -10 stay text
        return mapping


_TckLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _files() -> list[Path]:
    return sorted((tck_root() / "cesql").glob("*.yaml"))


def _cases() -> list[Any]:
    files = _files()
    if not files:
        return [pytest.param(None, id="tck-folder-missing")]
    params = []
    for path in files:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_TckLoader)
        for case in document["tests"]:
            params.append(pytest.param(case, id=f"{path.stem}::{case['name']}"))
    return params


CASES = _cases()


def _require_tck() -> None:
    if not _files():
        pytest.fail(
            f"CESQL TCK not found under {tck_root() / 'cesql'} "
            "(check out ../shared/cloudevents-tck or set EVENTFN_TCK_DIR)"
        )


def test_the_whole_tck_is_there():
    _require_tck()
    assert len(_files()) == EXPECTED_FILES
    assert len(CASES) == EXPECTED_CASES


@pytest.mark.parametrize("case", CASES)
def test_tck_case(case):
    _require_tck()
    expression = case["expression"]
    assert isinstance(expression, str)
    expected_error = case.get("error")
    if expected_error == "parse":
        with pytest.raises(cesql.ParseError) as caught:
            cesql.parse(expression)
        assert caught.value.kind == "parse"
        return

    event = dict(case["event"]) if "event" in case else dict(DEFAULT_EVENT)
    event.update(case.get("eventOverrides") or {})

    result = cesql.parse(expression).evaluate(event)

    expected = case["result"]
    assert type(result.value) is type(expected), (result, expected)
    assert result.value == expected, result
    assert [error.kind for error in result.errors] == (
        [expected_error] if expected_error else []
    ), result
