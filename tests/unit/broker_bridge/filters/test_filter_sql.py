"""The sql dialect: CESQL expressions read fail fast."""

from __future__ import annotations

import pytest

from broker_bridge import cesql
from broker_bridge.filters import InvalidFilterError, SqlFilter, compile_filter

EVENT = {"specversion": "1.0", "id": "1", "source": "s", "type": "t", "subject": "order/1"}


@pytest.mark.parametrize(
    ("expression", "matched"),
    [
        ("subject LIKE 'order/%'", True),
        ("subject LIKE 'invoice/%'", False),
        ("EXISTS subject AND NOT EXISTS dataschema", True),
        ("type IN ('t', 'u')", True),
        ("LENGTH(subject) = 7", True),
    ],
)
def test_sql(expression, matched):
    assert compile_filter({"sql": expression}).matches(EVENT) is matched


@pytest.mark.parametrize(
    "expression",
    [
        "missing = 'x'",  # missingAttribute
        "NOT (missing = 'x')",  # still an error: no match
        "1 / 0 = 0",  # math error
        "LEFT(subject, -1) = subject",  # true, with a functionEvaluation error
        "subject",  # a String, not a Boolean
        "myflag",  # a String "true", not a Boolean
    ],
)
def test_any_error_or_non_boolean_value_is_no_match(expression):
    assert compile_filter({"sql": expression}).matches({**EVENT, "myflag": "true"}) is False


def test_boolean_extension_value_matches():
    assert compile_filter({"sql": "myflag"}).matches({**EVENT, "myflag": True})


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("subject LIKE", "LIKE needs a string literal pattern"),
        ("x LIKE 123", "LIKE needs a string literal pattern"),
        ("NOPE(subject)", "unknown function(s): NOPE/1"),
        ("CONCAT_WS() = ''", "unknown function(s): CONCAT_WS/0"),
        ("1 + 1", "the expression is Integer, a filter needs a Boolean"),
        ("UPPER(subject)", "the expression is String"),
        ("", "the CESQL expression is empty"),
        ("   ", "the CESQL expression is empty"),
    ],
)
def test_invalid_expressions_are_refused_at_compile_time(expression, reason):
    with pytest.raises(InvalidFilterError) as caught:
        compile_filter({"sql": expression})
    assert reason in str(caught.value)
    assert caught.value.path == "filter.sql"
    assert caught.value.spec == expression


def test_parse_errors_are_chained():
    with pytest.raises(InvalidFilterError) as caught:
        compile_filter({"sql": "a = "})
    assert isinstance(caught.value.__cause__, cesql.ParseError)


@pytest.mark.parametrize("value", [1, True, None, ["a = 1"], {"a": 1}])
def test_sql_takes_a_string(value):
    with pytest.raises(InvalidFilterError, match="sql takes a CESQL expression string"):
        compile_filter({"sql": value})


def test_expression_is_compiled_once():
    f = compile_filter({"sql": "subject = 'order/1'"})
    assert isinstance(f, SqlFilter)
    assert f.expression.text == "subject = 'order/1'"
    assert f.spec == {"sql": "subject = 'order/1'"}
