"""Which subscriptions become broker bindings, and the bridge's over-approximating patterns."""

from __future__ import annotations

from typing import Any

import pytest

from broker_bridge.bindings_plan import bindable, plan, routing_key_for
from broker_bridge.filters import compile_filter


def _plan(rows: list[tuple[str, Any]]) -> Any:
    return plan((fn, compile_filter(spec)) for fn, spec in rows)


def test_exact_type_and_any_of_exact_types_are_bindings() -> None:
    p = _plan(
        [
            ("a", {"exact": {"type": "t.one"}}),
            ("b", {"any": [{"exact": {"type": "t.one"}}, {"exact": {"type": "t.two"}}]}),
        ]
    )
    assert p.native == {"a": frozenset({"t.one"}), "b": frozenset({"t.one", "t.two"})}
    assert p.bridge_patterns == frozenset()
    assert p.bindings(lambda f: f"q.{f}", "bridge") == {
        ("q.a", "t.one"),
        ("q.b", "t.one"),
        ("q.b", "t.two"),
    }


@pytest.mark.parametrize(
    ("spec", "patterns"),
    [
        ({"all": [{"exact": {"type": "t.x"}}, {"sql": "subject = 'a'"}]}, {"t.x"}),
        ({"exact": {"type": "t.x", "source": "/s"}}, {"t.x"}),
        ({"prefix": {"type": "com.example."}}, {"com.example.#"}),
        ({"prefix": {"type": "com.exa"}}, {"com.#"}),
        ({"prefix": {"type": "com"}}, {"#"}),
        ({"suffix": {"type": ".created"}}, {"#"}),
        ({"not": {"exact": {"type": "t.x"}}}, {"#"}),
        ({"sql": "type = 't.x'"}, {"#"}),
        ({"exact": {"type": "t.*"}}, {"#"}),
    ],
)
def test_other_subscriptions_bind_the_bridge_with_over_approximations(
    spec: Any, patterns: set[str]
) -> None:
    p = _plan([("f", spec)])
    assert p.native == {}
    assert p.bridge_patterns == frozenset(patterns)


def test_served_excludes_native_subscribers_only_when_the_key_is_the_type() -> None:
    p = _plan([("a", {"exact": {"type": "t.one"}}), ("b", {"sql": "true"})])
    served = p.served("t.one")
    assert served is not None
    assert served({"type": "t.one"}) == {"a"}
    assert served({"type": "t.other"}) == frozenset()  # key set by a foreign producer
    assert p.served(None) is None
    assert p.served("nothing.bound") is None


def test_routing_keys() -> None:
    assert routing_key_for("a.b") == "a.b"
    assert routing_key_for("x" * 256) == ""
    assert bindable("a.b")
    assert not bindable("a.#")
    assert not bindable("*.b")
