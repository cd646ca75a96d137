"""The routing index: same answers as evaluating every subscription, at lookup cost."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloudevents.core.v1.event import CloudEvent
from hypothesis import given
from hypothesis import strategies as st

from broker_bridge.filters import (
    AllFilter,
    ExactFilter,
    Filter,
    MatchAll,
    PrefixFilter,
    compile_filter,
)
from broker_bridge.routing import RoutingTable, split_type
from broker_bridge.subscriptions import Subscription, SubscriptionTable


def table(*subscriptions: tuple[str, list[Any]]) -> RoutingTable:
    return RoutingTable.from_subscriptions(
        SubscriptionTable(
            subscriptions=[
                Subscription(name=f"s{i}", function=function, filters=filters)
                for i, (function, filters) in enumerate(subscriptions)
            ]
        )
    )


def exact_type(value: str) -> dict[str, Any]:
    return {"exact": {"type": value}}


def test_routes_by_type_then_remaining_filters():
    routing = table(
        ("resize", [exact_type("img.uploaded")]),
        ("ocr", [exact_type("img.uploaded"), {"suffix": {"subject": ".pdf"}}]),
        ("audit", []),
        ("errors", [{"suffix": {"type": ".error"}}]),
    )
    assert routing.route({"type": "img.uploaded", "subject": "a.png"}) == ("resize", "audit")
    assert routing.route({"type": "img.uploaded", "subject": "a.pdf"}) == (
        "resize",
        "ocr",
        "audit",
    )
    assert routing.route({"type": "job.error"}) == ("audit", "errors")
    assert routing.route({"subject": "no type"}) == ("audit",)


def test_no_match_is_an_empty_tuple():
    routing = table(("resize", [exact_type("a")]), ("other", [{"prefix": {"type": "b"}}]))
    assert routing.route({"type": "c"}) == ()
    assert routing.route({}) == ()


def test_functions_come_once_in_table_order():
    routing = table(
        ("b", [{"prefix": {"type": "t"}}]),
        ("a", [exact_type("t")]),
        ("b", [exact_type("t")]),
        ("c", [{"sql": "type = 't'"}]),
        ("a", []),
    )
    assert routing.route({"type": "t"}) == ("b", "a", "c")


def test_precomputed_answer_when_only_exact_type_subscriptions():
    routing = table(("x", [exact_type("t")]), ("y", [exact_type("t")]), ("x", [exact_type("t")]))
    assert routing.route({"type": "t"}) == ("x", "y")
    assert routing.route({"type": "u"}) == ()
    assert routing({"type": "t"}) == ("x", "y")  # the bridge's Router callable
    assert len(routing) == 3


def test_cloudevents_are_accepted():
    routing = table(("x", [exact_type("t"), {"exact": {"subject": "s"}}]))
    event = CloudEvent({"id": "1", "source": "src", "type": "t", "subject": "s"})
    assert routing.route(event) == ("x",)


def test_non_string_type_uses_its_canonical_string():
    routing = table(("x", [exact_type("true")]))
    assert routing.route({"type": True}) == ("x",)


def test_split_type():
    assert split_type(compile_filter(exact_type("t"))) == ("t", None)
    event_type, rest = split_type(compile_filter({"exact": {"type": "t", "subject": "s"}}))
    assert (event_type, rest) == ("t", ExactFilter({"subject": "s"}))
    nested = compile_filter([{"prefix": {"subject": "a"}}, {"all": [exact_type("t")]}])
    assert split_type(nested) == ("t", PrefixFilter({"subject": "a"}))
    three = compile_filter([{"prefix": {"subject": "a"}}, exact_type("t"), {"sql": "TRUE"}])
    event_type, rest = split_type(three)
    assert event_type == "t"
    assert isinstance(rest, AllFilter)
    assert rest.spec == {"all": [{"prefix": {"subject": "a"}}, {"sql": "TRUE"}]}
    # not indexable: the type is not required by a conjunction
    anyf = compile_filter({"any": [exact_type("t"), exact_type("u")]})
    assert split_type(anyf) == (None, anyf)
    notf = compile_filter({"not": exact_type("t")})
    assert split_type(notf) == (None, notf)
    assert split_type(MatchAll()) == (None, None)


class Counting(Filter):
    __slots__ = ("calls",)

    def __init__(self) -> None:
        self.calls = 0

    def match_attributes(self, attributes: Mapping[str, Any]) -> bool:
        self.calls += 1
        return True

    @property
    def spec(self) -> Any:
        return {"counting": id(self)}


def test_only_the_event_types_subscriptions_are_evaluated():
    counters = [Counting() for _ in range(1000)]
    routing = RoutingTable(
        (f"fn-{i}", AllFilter([ExactFilter({"type": f"type-{i}"}), counter]))
        for i, counter in enumerate(counters)
    )
    assert routing.route({"type": "type-500"}) == ("fn-500",)
    assert [i for i, counter in enumerate(counters) if counter.calls] == [500]
    assert counters[500].calls == 1
    assert "1000 indexed on 1000 types, 0 evaluated in order" in repr(routing)


FILTERS = st.sampled_from(
    [
        [],
        [exact_type("a")],
        [exact_type("b")],
        [exact_type("a"), {"exact": {"subject": "x"}}],
        [{"exact": {"type": "a", "subject": "y"}}],
        [{"prefix": {"type": "a"}}],
        [{"all": [{"suffix": {"subject": "x"}}, exact_type("b")]}],
        [{"any": [exact_type("a"), exact_type("c")]}],
        [{"not": exact_type("a")}],
        [{"sql": "type IN ('a', 'c') AND EXISTS subject"}],
        [exact_type("a"), exact_type("b")],
    ]
)


@given(
    st.lists(st.tuples(st.sampled_from(["f", "g", "h"]), FILTERS), max_size=8),
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(["a", "b", "c", "ab"]),
            "subject": st.sampled_from(["x", "y"]),
        },
    ),
)
def test_index_agrees_with_evaluating_every_subscription(subscriptions, attributes):
    compiled = [(function, compile_filter(filters)) for function, filters in subscriptions]
    expected = tuple(dict.fromkeys(fn for fn, f in compiled if f.match_attributes(attributes)))
    assert RoutingTable(compiled).route(attributes) == expected
