"""The view's pure parts: filter summaries, rates from deltas, change detection, renderings."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from broker_bridge.filters import compile_filter
from k8s.dev.view import (
    NO_SUBSCRIPTIONS,
    FunctionRow,
    QueueDepth,
    Snapshot,
    change_key,
    describe_filter,
    describe_subscriptions,
    example_event_type,
    plain_records,
    render_snapshot,
    snapshot_json,
    with_rates,
)


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        ({"exact": {"type": "com.example.a"}}, "type = com.example.a"),
        (
            {"exact": {"type": "t", "source": "/s"}},
            "type = t and source = /s",
        ),
        ({"prefix": {"type": "com.example."}}, "type starts with com.example."),
        ({"suffix": {"subject": ".png"}}, "subject ends with .png"),
        ({"sql": "subject LIKE 'o/%'"}, "sql(subject LIKE 'o/%')"),
        ({"not": {"exact": {"type": "t"}}}, "not (type = t)"),
        (
            {"any": [{"exact": {"type": "a"}}, {"exact": {"type": "b"}}]},
            "type = a or type = b",
        ),
        (
            {
                "all": [
                    {"prefix": {"type": "com."}},
                    {"any": [{"exact": {"source": "x"}}, {"exact": {"source": "y"}}]},
                ]
            },
            "type starts with com. and (source = x or source = y)",
        ),
        ([], "every event"),
    ],
)
def test_filters_in_words(spec, text):
    compile_filter(spec)  # every example is a valid filter
    assert describe_filter(spec) == text


def test_a_subscribe_list_is_a_conjunction_and_empty_means_direct_only():
    filters = [{"exact": {"type": "t"}}, {"sql": "subject = 'x'"}]
    assert describe_subscriptions(filters) == "type = t and sql(subject = 'x')"
    assert describe_subscriptions([]) == NO_SUBSCRIPTIONS


def test_an_unknown_dialect_is_shown_as_json_not_dropped():
    assert describe_filter({"cel": "x > 1"}) == '{"cel": "x > 1"}'


def test_example_event_type_finds_an_exact_type_even_nested():
    assert example_event_type([[{"prefix": {"type": "a."}}], []]) is None
    nested = [[{"all": [{"prefix": {"subject": "s"}}, {"exact": {"type": "com.x"}}]}]]
    assert example_event_type(nested) == "com.x"


def test_example_event_type_prefers_the_start_of_a_flow():
    subscriptions = [
        [{"exact": {"type": "com.example.order.validated"}}],
        [{"exact": {"type": "com.example.order.created"}}],
    ]
    assert example_event_type(subscriptions) == "com.example.order.created"
    assert example_event_type(subscriptions[:1]) == "com.example.order.validated"


def _row(name: str, handled: int | None, **kw) -> FunctionRow:
    return FunctionRow(
        name=name,
        subscriptions="type = t",
        queue=QueueDepth(queue=f"eventfn.fn.{name}", ready=kw.pop("ready", 0), unacked=0),
        handled=handled,
        **kw,
    )


def _snap(at: float, *rows: FunctionRow, bridge_ready: int = 0) -> Snapshot:
    return Snapshot(
        at=at,
        broker="sqlite://localhost//x/broker.db",
        source="embedded",
        sees_unacked=True,
        bridge=QueueDepth(queue="eventfn.bridge", ready=bridge_ready, unacked=0),
        functions=rows,
    )


def test_rates_come_from_the_handled_deltas():
    before = _snap(100.0, _row("a", 10), _row("b", 0))
    after = _snap(104.0, _row("a", 30), _row("b", 0))
    rated = with_rates(before, after)
    assert rated.function("a").handled_per_second == pytest.approx(5.0)
    assert rated.function("b").handled_per_second == 0.0


def test_no_rate_without_history_after_a_counter_reset_or_for_new_functions():
    assert with_rates(None, _snap(1.0, _row("a", 3))).function("a").handled_per_second is None
    reset = with_rates(_snap(1.0, _row("a", 50)), _snap(2.0, _row("a", 2)))
    assert reset.function("a").handled_per_second is None
    new = with_rates(_snap(1.0, _row("a", 1)), _snap(2.0, _row("a", 1), _row("b", 4)))
    assert new.function("b").handled_per_second is None
    unknown = with_rates(_snap(1.0, _row("a", None)), _snap(2.0, _row("a", None)))
    assert unknown.function("a").handled_per_second is None


def test_change_key_ignores_time_and_rates_but_not_counts():
    a = with_rates(_snap(1.0, _row("a", 1)), _snap(2.0, _row("a", 5)))
    b = with_rates(_snap(5.0, _row("a", 3)), _snap(9.0, _row("a", 5)))
    assert a.function("a").handled_per_second != b.function("a").handled_per_second
    assert change_key(a) == change_key(b)
    assert change_key(a) != change_key(_snap(2.0, _row("a", 6)))
    assert change_key(a) != change_key(_snap(2.0, _row("a", 5), bridge_ready=1))
    assert change_key(a) != change_key(_snap(2.0, _row("a", 5, dead_letters=1)))


def test_depth_counts_the_bridge_and_every_function_queue():
    snap = _snap(1.0, _row("a", 0, ready=2), _row("b", 0, ready=3), bridge_ready=4)
    assert snap.depth == 9


def _render(snapshot: Snapshot, *, legend: bool = False) -> str:
    console = Console(width=160, record=True, color_system=None)
    console.print(render_snapshot(snapshot, title="eventfn status", legend=legend))
    return console.export_text()


def test_the_table_shows_each_function_and_marks_unknowns():
    snap = _snap(
        1.0,
        _row("resize", 12, workers=2, busy=1, failed=1, dead_letters=3, ready=7),
        _row("mailer", None),
    )
    text = _render(snap)
    lines = {line.split()[1]: line for line in text.splitlines() if line.startswith("│ ")}
    assert set(lines) >= {"(bridge)", "resize", "mailer"}
    assert "2 (1 busy)" in lines["resize"]
    resize_cells = [cell.strip() for cell in lines["resize"].split("│")[1:-1]]
    assert resize_cells == ["resize", "7", "0", "2 (1 busy)", "12", "-", "1", "3"]
    mailer_cells = [cell.strip() for cell in lines["mailer"].split("│")[1:-1]]
    assert mailer_cells[3:6] == ["-", "-", "-"]
    assert "sqlite://localhost//x/broker.db (embedded)" in text
    assert "<-" not in text


def test_the_legend_lists_subscriptions_under_the_table():
    text = _render(_snap(1.0, _row("resize", 0), _row("a-longer-name", 0)), legend=True)
    assert "resize         <- type = t" in text
    assert "a-longer-name  <- type = t" in text


def test_unreadable_queues_are_listed_under_the_table():
    snap = _snap(1.0, _row("a", 0)).model_copy(update={"problems": ("redis: cannot read q",)})
    assert "redis: cannot read q" in _render(snap)


def test_plain_records_drop_unknowns_and_round_rates():
    snap = with_rates(
        _snap(0.0, _row("a", 0)), _snap(3.0, _row("a", 1, workers=1), _row("b", None))
    )
    bridge, a, b = plain_records(snap)
    assert bridge == {"queue": "eventfn.bridge", "ready": 0, "unacked": 0}
    assert a == {
        "function": "a",
        "ready": 0,
        "unacked": 0,
        "workers": 1,
        "handled": 1,
        "per_second": 0.33,
        "dead_letters": 0,
    }
    assert b == {"function": "b", "ready": 0, "unacked": 0, "dead_letters": 0}


def test_json_has_depths_per_queue_and_in_total():
    snap = _snap(7.0, _row("a", 4, ready=2, dead_letters=1), bridge_ready=1)
    document = json.loads(json.dumps(snapshot_json(snap)))
    assert document["depth"] == 3
    assert document["bridge"] == {"queue": "eventfn.bridge", "ready": 1, "unacked": 0, "depth": 1}
    (function,) = document["functions"]
    assert function["name"] == "a"
    assert function["queue"] == "eventfn.fn.a"
    assert (function["ready"], function["depth"], function["handled"]) == (2, 2, 4)
    assert function["dead_letters"] == 1
    assert document["problems"] == []
