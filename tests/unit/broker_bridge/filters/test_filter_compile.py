"""compile_filter refuses every invalid spec with the path and the reason; public API."""

from __future__ import annotations

from datetime import date

import pytest

import broker_bridge.cesql
import broker_bridge.filters
from broker_bridge.errors import BridgeError
from broker_bridge.filters import DIALECTS, InvalidFilterError, compile_filter


@pytest.mark.parametrize(
    ("spec", "path", "reason"),
    [
        ({}, "filter", "empty filter"),
        (
            {"exact": {"type": "a"}, "prefix": {"type": "b"}},
            "filter",
            "one dialect per filter, found exact, prefix",
        ),
        ({"regex": {"type": ".*"}}, "filter", "unknown dialect 'regex'"),
        ({"Exact": {"type": "a"}}, "filter", "unknown dialect 'Exact'"),
        ({"cesql": "TRUE"}, "filter", "unknown dialect 'cesql'"),
        ({1: "x"}, "filter", "unknown dialect 1"),
        ("exact", "filter", "a filter is a mapping"),
        (None, "filter", "a filter is a mapping"),
        (42, "filter", "a filter is a mapping"),
        ({"exact": {}}, "filter.exact", "exact needs at least one attribute"),
        ({"prefix": "com."}, "filter.prefix", "prefix takes a map of attribute name to value"),
        ({"suffix": ["x"]}, "filter.suffix", "takes a map"),
        (
            {"exact": {"type": 5}},
            "filter.exact.type",
            "must be a string, not int (quote it in YAML: '5')",
        ),
        ({"exact": {"flag": True}}, "filter.exact.flag", "quote it in YAML: 'true'"),
        ({"exact": {"time": date(2024, 1, 2)}}, "filter.exact.time", "must be a string, not date"),
        ({"exact": {"type": None}}, "filter.exact.type", "must be a string, not NoneType"),
        ({"exact": {"type": ""}}, "filter.exact.type", "an empty exact value is not allowed"),
        ({"prefix": {"type": ""}}, "filter.prefix.type", "an empty prefix value"),
        ({"exact": {"Type": "a"}}, "filter.exact", "'Type' is not a CloudEvents attribute name"),
        (
            {"exact": {"my-ext": "a"}},
            "filter.exact",
            "'my-ext' is not a CloudEvents attribute name",
        ),
        ({"exact": {"": "a"}}, "filter.exact", "'' is not a CloudEvents attribute name"),
        ({"all": []}, "filter.all", "all needs at least one filter"),
        ({"any": []}, "filter.any", "any needs at least one filter"),
        ({"all": {"exact": {"type": "a"}}}, "filter.all", "all takes a list of filters, not dict"),
        ({"any": "x"}, "filter.any", "any takes a list of filters, not str"),
        ({"not": []}, "filter.not", "not takes one filter (a mapping), not list"),
        ({"not": {}}, "filter.not", "empty filter"),
        (
            {"all": [{"exact": {"type": "a"}}, {"nope": 1}]},
            "filter.all[1]",
            "unknown dialect 'nope'",
        ),
        (
            {"any": [{"not": {"sql": "a LIKE 1"}}]},
            "filter.any[0].not.sql",
            "LIKE needs a string literal",
        ),
        ([{"exact": {"type": "a"}}, {}], "filter[1]", "empty filter"),
    ],
)
def test_invalid_specs_are_refused(spec, path, reason):
    with pytest.raises(InvalidFilterError) as caught:
        compile_filter(spec)
    error = caught.value
    assert error.path == path
    assert reason in error.reason
    assert str(error) == f"invalid filter at {path}: {error.reason}"
    assert isinstance(error, ValueError)
    assert isinstance(error, BridgeError)


def test_the_root_path_can_be_named():
    with pytest.raises(InvalidFilterError) as caught:
        compile_filter([{"exact": {}}], path="filters")
    assert caught.value.path == "filters[0].exact"


def test_dialects():
    assert DIALECTS == ("exact", "prefix", "suffix", "all", "any", "not", "sql")


@pytest.mark.parametrize("module", [broker_bridge.filters, broker_bridge.cesql])
def test_public_surface_is_explicit(module):
    public = {name for name in vars(module) if not name.startswith("_")}
    exported = set(module.__all__)
    assert exported <= public
    submodules = {
        name for name in public - exported if type(getattr(module, name)).__name__ == "module"
    }
    assert public - exported - submodules == {"annotations"}


def test_contract_names():
    cesql = broker_bridge.cesql
    assert callable(broker_bridge.filters.compile_filter)
    assert {"parse", "ParseError", "Result", "Expression", "ErrorKind"} <= set(cesql.__all__)
    assert {kind.value for kind in cesql.ErrorKind} == {
        "parse", "math", "cast", "missingAttribute", "missingFunction",
        "functionEvaluation", "generic",
    }  # fmt: skip
