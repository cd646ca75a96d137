"""The all, any and not dialects, lists of filters, and the empty list."""

from __future__ import annotations

from broker_bridge.filters import AllFilter, AnyFilter, MatchAll, NotFilter, compile_filter

EVENT = {"specversion": "1.0", "id": "1", "source": "s", "type": "com.example.a", "subject": "x"}
YES = {"exact": {"type": "com.example.a"}}
NO = {"exact": {"type": "com.example.b"}}


def test_all():
    assert compile_filter({"all": [YES]}).matches(EVENT)
    assert compile_filter({"all": [YES, YES]}).matches(EVENT)
    assert not compile_filter({"all": [YES, NO]}).matches(EVENT)
    assert isinstance(compile_filter({"all": [YES, NO]}), AllFilter)


def test_any():
    assert compile_filter({"any": [NO, YES]}).matches(EVENT)
    assert not compile_filter({"any": [NO, NO]}).matches(EVENT)
    assert isinstance(compile_filter({"any": [NO]}), AnyFilter)


def test_not():
    assert compile_filter({"not": NO}).matches(EVENT)
    assert not compile_filter({"not": YES}).matches(EVENT)
    assert compile_filter({"not": {"not": YES}}).matches(EVENT)
    assert isinstance(compile_filter({"not": YES}), NotFilter)


def test_a_list_is_a_conjunction():
    assert compile_filter([YES, {"prefix": {"subject": "x"}}]).matches(EVENT)
    assert not compile_filter([YES, NO]).matches(EVENT)
    assert compile_filter([YES]) == compile_filter(YES)


def test_an_empty_list_matches_everything():
    f = compile_filter([])
    assert isinstance(f, MatchAll)
    assert f.matches(EVENT)
    assert f.matches({})


def test_nesting():
    spec = {
        "any": [
            {"all": [YES, {"not": {"exact": {"subject": "y"}}}]},
            {"sql": "subject = 'never'"},
        ]
    }
    assert compile_filter(spec).matches(EVENT)
    assert not compile_filter(spec).matches({**EVENT, "subject": "y"})


def test_spec_round_trips():
    spec = {"all": [YES, {"any": [NO, {"not": {"suffix": {"type": ".a"}}}]}, {"sql": "TRUE"}]}
    f = compile_filter(spec)
    assert f.spec == spec
    assert compile_filter(f.spec) == f
    assert compile_filter(f) is f
    assert repr(f) == f"compile_filter({spec!r})"
