"""The exact, prefix and suffix dialects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from cloudevents.core.v1.event import CloudEvent

from broker_bridge.filters import ExactFilter, PrefixFilter, SuffixFilter, compile_filter

EVENT = {
    "specversion": "1.0",
    "id": "1",
    "source": "https://example.com/orders",
    "type": "com.example.order.created",
    "subject": "order/42",
}


@pytest.mark.parametrize(
    ("spec", "matched"),
    [
        ({"exact": {"type": "com.example.order.created"}}, True),
        ({"exact": {"type": "com.example.order"}}, False),
        ({"exact": {"type": "COM.EXAMPLE.ORDER.CREATED"}}, False),
        ({"exact": {"type": "com.example.order.created", "subject": "order/42"}}, True),
        ({"exact": {"type": "com.example.order.created", "subject": "order/43"}}, False),
        ({"prefix": {"type": "com.example."}}, True),
        ({"prefix": {"type": "com.example.order.created"}}, True),
        ({"prefix": {"type": "org."}}, False),
        ({"prefix": {"type": "com.", "source": "https://"}}, True),
        ({"prefix": {"type": "com.", "source": "http://"}}, False),
        ({"suffix": {"type": ".created"}}, True),
        ({"suffix": {"type": ".deleted"}}, False),
        ({"suffix": {"subject": "/42", "source": "/orders"}}, True),
    ],
)
def test_attribute_dialects(spec, matched):
    assert compile_filter(spec).matches(EVENT) is matched


@pytest.mark.parametrize("dialect", ["exact", "prefix", "suffix"])
def test_missing_attributes_never_match(dialect):
    f = compile_filter({dialect: {"myext": "x"}})
    assert f.matches(EVENT) is False
    assert f.matches({**EVENT, "myext": None}) is False
    assert compile_filter({"not": {dialect: {"myext": "x"}}}).matches(EVENT) is True


@pytest.mark.parametrize(
    ("value", "spec"),
    [
        (True, {"exact": {"flag": "true"}}),
        (False, {"exact": {"flag": "false"}}),
        (42, {"exact": {"flag": "42"}}),
        (-7, {"prefix": {"flag": "-"}}),
        (b"\x00\xff", {"exact": {"flag": "AP8="}}),
        (datetime(2024, 5, 1, 12, 30, tzinfo=UTC), {"exact": {"flag": "2024-05-01T12:30:00Z"}}),
        (
            datetime(2024, 5, 1, 12, 30, tzinfo=timezone(timedelta(hours=2))),
            {"suffix": {"flag": "+02:00"}},
        ),
    ],
)
def test_non_string_values_compare_as_canonical_strings(value, spec):
    assert compile_filter(spec).matches({**EVENT, "flag": value}) is True


def test_bool_is_not_title_case():
    assert compile_filter({"exact": {"flag": "True"}}).matches({"flag": True}) is False


def test_cloudevent_time_attribute():
    event = CloudEvent({**EVENT, "time": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)})
    assert compile_filter({"prefix": {"time": "2024-01-02T"}}).matches(event)
    assert compile_filter({"suffix": {"time": "Z"}}).matches(event)
    assert compile_filter({"exact": {"time": "2024-01-02T03:04:05Z"}}).matches(event)


def test_classes_and_accessors():
    f = compile_filter({"exact": {"type": "a", "subject": "b"}})
    assert isinstance(f, ExactFilter)
    assert f.attributes == {"type": "a", "subject": "b"}
    assert f.spec == {"exact": {"type": "a", "subject": "b"}}
    assert isinstance(compile_filter({"prefix": {"type": "a"}}), PrefixFilter)
    assert isinstance(compile_filter({"suffix": {"type": "a"}}), SuffixFilter)
    assert ExactFilter({"type": "a"}).matches({"type": "a"})
