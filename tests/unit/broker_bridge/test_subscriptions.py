"""Subscription models, whole-table validation and YAML loading."""

from __future__ import annotations

import pydantic
import pytest

from broker_bridge.errors import BridgeError
from broker_bridge.filters import AllFilter, ExactFilter, MatchAll
from broker_bridge.subscriptions import (
    DeliveryOptions,
    Subscription,
    SubscriptionFileError,
    SubscriptionTable,
    UnknownFunctionsError,
    load_yaml,
)

UPLOADED = {"exact": {"type": "com.example.image.uploaded"}}
EVENT = {"specversion": "1.0", "id": "1", "source": "s", "type": "com.example.image.uploaded"}


def test_a_subscription_compiles_its_filters_once():
    sub = Subscription(
        name="thumbs", function="resize-image", filters=[UPLOADED, {"sql": "subject LIKE 'img/%'"}]
    )
    assert isinstance(sub.filter, AllFilter)
    assert sub.filter is sub.filter
    assert sub.matches({**EVENT, "subject": "img/1"})
    assert not sub.matches(EVENT)
    assert Subscription(name="a", function="f", filters=[UPLOADED]).filter == ExactFilter(
        {"type": "com.example.image.uploaded"}
    )
    assert isinstance(Subscription(name="all", function="f", filters=[]).filter, MatchAll)


def test_an_invalid_filter_is_a_validation_error_with_its_path():
    with pytest.raises(pydantic.ValidationError) as caught:
        Subscription(name="a", function="f", filters=[UPLOADED, {"exact": {"type": 1}}])
    assert "invalid filter at filters[1].exact.type" in str(caught.value)


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "Bad Name", "function": "f", "filters": []},
        {"name": "a", "function": "Not_A_Label", "filters": []},
        {"name": "a", "function": "f"},
        {"name": "a", "function": "f", "filters": [], "extra": 1},
        {"name": "a", "function": "f", "filters": UPLOADED},
        {"name": "a", "function": "f", "filters": [], "delivery": {"max_attempts": 0}},
        {"name": "a", "function": "f", "filters": [], "delivery": {"delay": 5, "max_delay": 1}},
        {"name": "a", "function": "f", "filters": [], "delivery": {"backoff": "random"}},
    ],
)
def test_invalid_subscriptions(fields):
    with pytest.raises(pydantic.ValidationError):
        Subscription(**fields)


def test_delivery_options():
    sub = Subscription(
        name="a", function="f", filters=[], delivery={"max_attempts": 5, "timeout": 2.5}
    )
    assert sub.delivery == DeliveryOptions(max_attempts=5, timeout=2.5)
    assert sub.delivery.backoff is None


def test_table_defaults_names_per_function():
    table = SubscriptionTable.model_validate(
        {
            "subscriptions": [
                {"function": "resize", "filters": [UPLOADED]},
                {"function": "audit", "filters": []},
                {"function": "resize", "filters": [UPLOADED]},
                {"name": "custom", "function": "resize", "filters": []},
            ]
        }
    )
    assert [s.name for s in table.subscriptions] == ["resize-0", "audit-0", "resize-1", "custom"]
    assert table.functions == ("resize", "audit")
    assert table.get("audit-0").function == "audit"
    with pytest.raises(KeyError):
        table.get("nope")


def test_duplicate_names_are_refused():
    with pytest.raises(pydantic.ValidationError, match="duplicate subscription names: a, b"):
        SubscriptionTable(
            subscriptions=[Subscription(name=name, function="f", filters=[]) for name in "abab"]
        )
    with pytest.raises(pydantic.ValidationError, match="duplicate subscription names: f-0"):
        SubscriptionTable.model_validate(
            {
                "subscriptions": [
                    {"function": "f", "filters": []},
                    {"name": "f-0", "function": "f", "filters": []},
                ]
            }
        )


def test_validate_functions_lists_every_unknown_function():
    table = SubscriptionTable.model_validate(
        {
            "subscriptions": [
                {"function": "known", "filters": []},
                {"function": "ghost", "filters": []},
                {"function": "ghost", "filters": []},
                {"function": "phantom", "filters": []},
            ]
        }
    )
    table.validate_functions({"known", "ghost", "phantom"})
    with pytest.raises(UnknownFunctionsError) as caught:
        table.validate_functions(["known"])
    error = caught.value
    assert error.functions == ["ghost", "phantom"]
    assert error.subscriptions == {"ghost": ["ghost-0", "ghost-1"], "phantom": ["phantom-0"]}
    assert "'ghost' (subscription 'ghost-0', 'ghost-1')" in str(error)
    assert isinstance(error, LookupError)
    assert isinstance(error, BridgeError)


def test_empty_table():
    assert SubscriptionTable().subscriptions == []
    SubscriptionTable().validate_functions(set())


# -- YAML -----------------------------------------------------------------------------

GOOD = """\
subscriptions:
  - name: thumbnails
    function: resize-image
    filters:
      - exact: {type: com.example.image.uploaded}
      - sql: "subject LIKE 'img/%'"
    delivery: {max_attempts: 5}
  - function: audit
    filters: []
"""


def test_load_yaml(tmp_path):
    path = tmp_path / "subs.yaml"
    path.write_text(GOOD)
    table = load_yaml(path)
    assert [s.name for s in table.subscriptions] == ["thumbnails", "audit-0"]
    assert table.subscriptions[0].delivery == DeliveryOptions(max_attempts=5)
    assert table.subscriptions[0].matches({**EVENT, "subject": "img/2"})
    assert load_yaml(str(path)) == table


def test_load_yaml_accepts_a_bare_list(tmp_path):
    path = tmp_path / "subs.yaml"
    path.write_text("- function: audit\n  filters: []\n")
    assert load_yaml(path).functions == ("audit",)


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("", ["expected a mapping with a 'subscriptions' list, found an empty document"]),
        ("just text", ["expected a mapping with a 'subscriptions' list, found str"]),
        ("subscriptions: [\n", ["not valid YAML"]),
        (
            "subscriptions:\n  - function: f\n    filters: [{exact: {sequence: 5}}]\n",
            [
                "subscriptions[0] ('f'): invalid filter at filters[0].exact.sequence: the value "
                "must be a string, not int (quote it in YAML: '5')"
            ],
        ),
        (
            "subscriptions:\n  - {name: a, function: f, filters: [{sql: 'x LIKE 1'}]}\n"
            "  - {name: b, function: g}\n",
            [
                "subscriptions[0] ('a'): invalid filter at filters[0].sql: LIKE needs a string",
                "subscriptions[1] ('b').filters: Field required",
            ],
        ),
        (
            "subscriptions:\n  - {name: a, function: f, filters: []}\n"
            "  - {name: a, function: g, filters: []}\n",
            ["(top level): duplicate subscription names: a"],
        ),
        ("subscriptions: []\nversion: 2\n", ["version: Extra inputs are not permitted"]),
    ],
)
def test_load_yaml_errors_name_the_file_and_each_problem(tmp_path, text, problems):
    path = tmp_path / "subs.yaml"
    path.write_text(text)
    with pytest.raises(SubscriptionFileError) as caught:
        load_yaml(path)
    error = caught.value
    assert error.path == path
    assert len(error.problems) == len(problems)
    for found, expected in zip(error.problems, problems, strict=True):
        assert found.startswith(expected), found
    assert str(path) in str(error)
    assert isinstance(error, ValueError)
    assert isinstance(error, BridgeError)


def test_load_yaml_missing_file(tmp_path):
    with pytest.raises(SubscriptionFileError, match="cannot read the file"):
        load_yaml(tmp_path / "absent.yaml")
