"""CESQL evaluation beyond the TCK: events, casts, errors, operators and functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from cloudevents.core.v1.event import CloudEvent

from broker_bridge import cesql

EVENT = {"specversion": "1.0", "id": "1", "source": "https://example.com/src", "type": "t"}


def run(text: str, **attributes):
    return cesql.parse(text).evaluate({**EVENT, **attributes})


def kinds(result) -> list[str]:
    return [error.kind for error in result.errors]


# -- events ---------------------------------------------------------------------------


def test_cloudevent_input_is_read_not_changed():
    event = CloudEvent(
        {
            "id": "abc",
            "source": "https://example.com",
            "type": "com.example.created",
            "subject": "order/7",
            "time": datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC),
            "sequence": 42,
            "flag": True,
        }
    )
    before = dict(event.get_attributes())
    assert cesql.parse("subject LIKE 'order/%' AND sequence > 40 AND flag").matches(event)
    assert cesql.parse("time").evaluate(event).value == "2024-05-01T12:00:00Z"
    assert cesql.parse("time LIKE '2024-05-%'").evaluate(event).value is True
    assert cesql.parse("sequence").evaluate(event).value == 42
    assert cesql.parse("flag").evaluate(event).value is True
    assert cesql.parse("EXISTS dataschema").evaluate(event).value is False
    assert event.get_attributes() == before


def test_timestamps_keep_their_offset_and_fraction():
    plus_two = datetime(2018, 4, 26, 14, 48, 9, 120000, tzinfo=timezone(timedelta(hours=2)))
    assert run("time", time=plus_two).value == "2018-04-26T14:48:09.120000+02:00"


def test_non_primitive_values_are_their_canonical_string():
    assert run("big", big=2**40).value == str(2**40)
    assert run("raw", raw=b"\x00\xff").value == "AP8="
    assert run("big = '1099511627776'", big=2**40).value is True


def test_none_counts_as_absent():
    result = run("subject = 'x'", subject=None)
    assert result.value is False
    assert kinds(result) == ["missingAttribute"]
    assert run("EXISTS subject", subject=None).value is False


def test_anything_else_is_refused():
    with pytest.raises(TypeError, match="CloudEvent or a Mapping"):
        cesql.parse("TRUE").evaluate(42)


# -- results and fail-fast errors -----------------------------------------------------


def test_result_reports_ok():
    assert run("1 = 1").ok
    assert not run("missing = 1").ok


def test_evaluation_stops_at_the_first_error():
    result = run("missing1 = missing2")
    assert kinds(result) == ["missingAttribute"]
    assert "missing1" in result.errors[0].message
    assert str(result.errors[0]).startswith("missingAttribute: ")


def test_enclosing_expressions_take_their_zero_value():
    assert run("LENGTH(missing) + 1").value == 0
    assert run("UPPER(missing)").value == ""
    assert run("NOT (missing = 1)").value is False
    assert run("(1 / 0) = 0").value is False
    assert run("CONCAT('a', LEFT('abc', -1))").value == ""


def test_short_circuit_skips_errors():
    assert run("FALSE AND missing").ok
    assert run("TRUE OR 1 / 0 = 0").ok
    assert run("a = 1 OR missing", a="1").value is True


def test_matches_is_the_filter_reading():
    assert cesql.parse("a = 'x'").matches({"a": "x"}) is True
    assert cesql.parse("a = 'x'").matches({"a": "y"}) is False
    assert cesql.parse("a = 'x'").matches({}) is False
    assert cesql.parse("a").matches({"a": True}) is True
    assert cesql.parse("a").matches({"a": "true"}) is False  # a String, not a Boolean
    assert cesql.parse("LEFT('abc', -1) = 'abc'").matches({}) is False  # value true, with error


# -- operators ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("-7 / 2", -3),
        ("7 / -2", -3),
        ("-7 % 2", -1),
        ("7 % -2", 1),
        ("-7 % -2", -1),
        ("2147483647 - 1 + 1", 2147483647),
        ("-2147483648 / 2", -1073741824),
    ],
)
def test_truncated_division(text, value):
    result = run(text)
    assert (result.value, result.errors) == (value, [])


@pytest.mark.parametrize(
    ("text", "wrapped"),
    [
        ("2147483647 + 1", -2147483648),
        ("-2147483648 - 1", 2147483647),
        ("65536 * 65536", 0),
        ("-2147483648 / -1", -2147483648),
        ("-(-2147483648)", -2147483648),
    ],
)
def test_overflow_wraps_and_reports_a_math_error(text, wrapped):
    result = run(text)
    assert (result.value, kinds(result)) == (wrapped, ["math"])


def test_string_to_integer_casts_are_strict():
    assert run("n + 1", n="+41").value == 42
    for bad in (" 41", "41 ", "4_1", "0x10", "\uff11\uff12", "", "2147483648"):
        result = run("n + 1", n=bad)
        assert (result.value, kinds(result)) == (0, ["cast"]), bad


def test_equality_casts_left_to_the_right_type():
    assert run("n = 5", n="5").value is True
    assert run("5 = n", n="5").value is True
    assert run("TRUE = 'true' AND FALSE = 'false'").value is True
    assert run("TRUE = 'TRUE' OR FALSE = 'FALSE'").value is False
    result = run("'abc' = 1")
    assert (result.value, kinds(result)) == (False, ["cast"])
    assert run("'a' <> 'A'").value is True  # case sensitive


def test_integers_never_cast_to_boolean_implicitly():
    for text in ("1 AND TRUE", "FALSE OR 0", "1 XOR TRUE", "1 = TRUE"):
        assert kinds(run(text)) == ["cast"], text
    assert run("BOOL(1) AND TRUE").value is True


def test_not_and_negate_on_bad_input():
    result = run("NOT 'maybe'")
    assert (result.value, kinds(result)) == (True, ["cast"])
    result = run("-'abc'")
    assert (result.value, kinds(result)) == (0, ["cast"])


def test_ordering_is_integer_only():
    assert run("'10' > '9'").value is True  # numbers, not text
    assert kinds(run("'b' > 'a'")) == ["cast"]


def test_xor_evaluates_both_sides():
    assert run("TRUE XOR 'false'").value is True
    assert kinds(run("TRUE XOR missing")) == ["missingAttribute"]


@pytest.mark.parametrize(
    ("value", "pattern", "matched"),
    [
        ("order/7", "order/%", True),
        ("order", "order/%", False),
        ("com.x.error", "%.error", True),
        ("a.error.b", "%.error", False),
        ("xxERRxx", "%ERR%", True),
        ("xxerrxx", "%ERR%", False),
        ("abc", "a_c", True),
        ("abbc", "a_c", False),
        ("a\nc", "a_c", True),
        ("line1\nline2", "line1%", True),
        ("multi\nline", "%\n%", True),
        ("100%", "100\\%", True),
        ("1000", "100\\%", False),
        ("a_b", "a\\_b", True),
        ("axb", "a\\_b", False),
        ("a.*b", "a.*b", True),
        ("aXXb", "a.*b", False),
        ("(x)", "(_)", True),
        ("", "%", True),
        ("", "_", False),
        ("back\\slash", "back\\slash", True),
    ],
)
def test_like(value, pattern, matched):
    escaped = pattern.replace("'", "''")
    assert run(f"v LIKE '{escaped}'", v=value).value is matched
    assert run(f"v NOT LIKE '{escaped}'", v=value).value is (not matched)


def test_like_casts_the_left_side_to_string():
    assert run("n LIKE '4_'", n=42).value is True
    assert run("b LIKE 't%'", b=True).value is True


@pytest.mark.parametrize(
    ("text", "value", "errors"),
    [
        ("1 IN (1, 'abc')", True, []),
        ("1 IN ('abc', 1)", False, ["cast"]),
        ("'1' IN (1, 2)", True, []),
        ("n IN (1, 2, 3)", True, []),
        ("n NOT IN (1, 2, 3)", False, []),
        ("n IN (4, 5)", False, []),
        ("n IN (a, 2)", True, []),
        ("n IN (missing, 2)", False, ["missingAttribute"]),
        ("TRUE IN ('true')", True, []),
        ("TRUE IN (1)", False, ["cast"]),
    ],
)
def test_in(text, value, errors):
    result = run(text, n="2", a="1")
    assert (result.value, kinds(result)) == (value, errors)


# -- functions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("LENGTH('ünï')", 3),
        ("LENGTH(12345)", 5),
        ("CONCAT('a', 1, TRUE)", "a1true"),
        ("CONCAT_WS('-', 1, 2, 3)", "1-2-3"),
        ("lower('ÀB')", "àb"),
        ("TRIM('\u00a0\u3000 x \t\n')", "x"),
        ("TRIM('\x1fx\x1f')", "\x1fx\x1f"),
        ("RIGHT('abc', 0)", ""),
        ("LEFT('abc', 0)", ""),
        ("SUBSTRING('abcdef', -6)", "abcdef"),
        ("SUBSTRING('abcdef', 6)", "f"),
        ("SUBSTRING('abcdef', 3, 0)", ""),
        ("SUBSTRING('abcdef', -2, 10)", "ef"),
        ("ABS(-2147483647)", 2147483647),
        ("INT('+7')", 7),
        ("BOOL('TrUe')", True),
        ("STRING(-0)", "0"),
        ("IS_BOOL('false')", True),
        ("IS_BOOL(1)", False),
        ("IS_INT('12')", True),
        ("IS_INT('1.5')", False),
    ],
)
def test_functions(text, value):
    result = run(text)
    assert (result.value, result.errors) == (value, [])


def test_function_errors_keep_the_function_value():
    result = run("SUBSTRING('abc', 1, -1)")
    assert (result.value, kinds(result)) == ("", ["functionEvaluation"])
    result = run("LEFT('abc', 'x')")
    assert (result.value, kinds(result)) == ("", ["cast"])
    result = run("INT('x')")
    assert (result.value, kinds(result)) == (0, ["cast"])


def test_missing_functions():
    result = run("NOPE()")
    assert (result.value, kinds(result)) == (False, ["missingFunction"])
    result = run("LENGTH('a', 'b') = 2")
    assert (result.value, kinds(result)) == (False, ["missingFunction"])
    assert "LENGTH" in result.errors[0].message
