"""CESQL parsing: precedence, literals, identifiers, and every parse error."""

from __future__ import annotations

import pytest

from broker_bridge import cesql
from broker_bridge.cesql.parser import MAX_DEPTH
from broker_bridge.errors import BridgeError


def tree(text: str) -> str:
    return cesql.parse(text).root.to_text()


@pytest.mark.parametrize(
    ("text", "grouped"),
    [
        # AND, OR, XOR share one level, grouped left to right (spec v1, 3.6)
        ("a AND b OR c", "((a AND b) OR c)"),
        ("a OR b AND c", "((a OR b) AND c)"),
        ("a AND b AND c", "(a AND b AND c)"),
        ("a XOR b OR c", "((a XOR b) OR c)"),
        # comparison below arithmetic, * / % above + -
        ("1 + 2 * 3 = 7", "((1 + (2 * 3)) = 7)"),
        ("1 - 2 - 3", "((1 - 2) - 3)"),
        ("4 -1", "(4 - 1)"),
        ("a < b = c", "((a < b) = c)"),
        # unary binds tighter than LIKE, IN and binary operators
        ("NOT a = b", "((NOT a) = b)"),
        ("NOT a LIKE 'x'", "((NOT a) LIKE 'x')"),
        ("-a * b", "((-a) * b)"),
        ("NOT EXISTS time", "(NOT (EXISTS time))"),
        # LIKE and IN bind tighter than arithmetic
        ("1 + 2 IN (3)", "(1 + (2 IN (3)))"),
        ("a NOT LIKE 'x%' AND b NOT IN (1, 2)", "((a NOT LIKE 'x%') AND (b NOT IN (1, 2)))"),
        # parentheses
        ("a AND (b OR c)", "(a AND (b OR c))"),
        ("((((1))))", "1"),
        # a sign before an integer is part of the literal
        ("-2147483648", "-2147483648"),
        ("+5", "5"),
        ("--10", "(--10)"),
        ("- -10", "(--10)"),
        ("-'10'", "(-'10')"),
    ],
)
def test_precedence_and_grouping(text, grouped):
    assert tree(text) == grouped


@pytest.mark.parametrize(
    ("text", "grouped"),
    [
        ("tRuE aNd FaLsE", "(TRUE AND FALSE)"),
        ("x not like 'a' or y not in (1)", "((x NOT LIKE 'a') OR (y NOT IN (1)))"),
        ("exists SUBJECT", "(EXISTS subject)"),
        ("Source", "source"),
        ("concat_ws(',', a)", "CONCAT_WS(',', a)"),
        ("Substring('abc', 1, 1)", "SUBSTRING('abc', 1, 1)"),
    ],
)
def test_keywords_functions_and_identifiers_ignore_case(text, grouped):
    assert tree(text) == grouped


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("'it''s'", "it's"),
        ('"say ""hi"""', 'say "hi"'),
        ("'a\\'b'", "a'b"),
        ('"a\\"b"', 'a"b'),
        ("'a\"b'", 'a"b'),
        ("'back\\slash'", "back\\slash"),
        ("'\\%'", "\\%"),
        ("''", ""),
        ("'tab\tand\nnewline'", "tab\tand\nnewline"),
        ("'ünïcödé ✓'", "ünïcödé ✓"),
    ],
)
def test_string_literals(text, value):
    assert cesql.parse(text).evaluate({}).value == value


def test_integer_literals_are_32_bit():
    assert cesql.parse("2147483647").evaluate({}).value == 2147483647
    assert cesql.parse("-2147483648").evaluate({}).value == -2147483648
    assert cesql.parse("007").evaluate({}).value == 7


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty expression"),
        ("   ", "empty expression"),
        ("'abc", "unterminated string"),
        ('"abc', "unterminated string"),
        ("a # b", "unexpected character '#'"),
        ("a LIKE b", "LIKE needs a string literal pattern"),
        ("x LIKE 123", "LIKE needs a string literal pattern"),
        ("a IN 1", "expected '('"),
        ("a IN ()", "unexpected ')'"),
        ("a IN (1, 2", "expected ')'"),
        ("EXISTS 1", "EXISTS needs an attribute name"),
        ("EXISTS", "EXISTS needs an attribute name"),
        ("2147483648", "outside the 32-bit range"),
        ("-2147483649", "outside the 32-bit range"),
        ("my_ext = 1", "is not an attribute name"),
        ("f1(2)", "is not a function name"),
        ("ABC(", "unexpected end of expression"),
        ("(1", "expected ')'"),
        ("1)", "unexpected ')'"),
        ("1 2", "unexpected '2'"),
        ("a AND", "unexpected end of expression"),
        ("NOT", "unexpected end of expression"),
        ("a = = b", "unexpected '='"),
        ("a ! b", "unexpected character '!'"),
        ("CONCAT('a',)", "unexpected ')'"),
    ],
)
def test_parse_errors_name_the_problem(text, reason):
    with pytest.raises(cesql.ParseError) as caught:
        cesql.parse(text)
    error = caught.value
    assert reason in str(error)
    assert error.kind == "parse"
    assert error.expression == text
    assert 0 <= error.position <= len(text)
    assert isinstance(error, ValueError)
    assert isinstance(error, BridgeError)
    assert isinstance(error, cesql.CesqlError)


def test_parse_error_position_points_at_the_token():
    with pytest.raises(cesql.ParseError) as caught:
        cesql.parse("subject = 'x' AND AND")
    assert caught.value.position == 18


def test_deep_nesting_is_refused_not_a_recursion_error():
    with pytest.raises(cesql.ParseError, match="nested deeper"):
        cesql.parse("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(cesql.ParseError, match="nested deeper"):
        cesql.parse("NOT " * (MAX_DEPTH + 1) + "TRUE")
    with pytest.raises(cesql.ParseError, match="nested deeper"):
        cesql.parse(" + ".join(["1"] * (MAX_DEPTH + 2)))
    assert cesql.parse("(" * 10 + "1" + ")" * 10).evaluate({}).value == 1


def test_long_and_or_chains_are_flat():
    text = " AND ".join(f"a{i} = 1" for i in range(500))
    event = {f"a{i}": "1" for i in range(500)}
    assert cesql.parse(text).evaluate(event).value is True
    assert cesql.parse(" OR ".join(["FALSE"] * 500) + " OR TRUE").evaluate({}).value is True


def test_unknown_functions_parse_but_are_listed():
    expr = cesql.parse("FOO(1) OR concat_ws() = '' OR LENGTH('a', 'b') = 1 OR LENGTH('a') = 1")
    assert expr.missing_functions == ("CONCAT_WS/0", "FOO/1", "LENGTH/2")
    assert cesql.parse("LENGTH('a') = 1").missing_functions == ()


def test_static_result_type():
    assert cesql.parse("a = 1").result_type is cesql.ValueType.BOOLEAN
    assert cesql.parse("1 + a").result_type is cesql.ValueType.INTEGER
    assert cesql.parse("UPPER(a)").result_type is cesql.ValueType.STRING
    assert cesql.parse("a").result_type is None
    assert cesql.parse("FOO(a)").result_type is None


def test_parse_takes_text_only():
    with pytest.raises(TypeError):
        cesql.parse(b"a = 1")  # type: ignore[arg-type]


def test_expressions_compare_and_hash_by_text():
    assert cesql.parse("a = 1") == cesql.parse("a = 1")
    assert len({cesql.parse("a = 1"), cesql.parse("a = 1"), cesql.parse("a = 2")}) == 2
    assert repr(cesql.parse("a = 1")) == "cesql.parse('a = 1')"
