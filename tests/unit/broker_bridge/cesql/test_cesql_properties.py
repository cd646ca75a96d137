"""Properties of the CESQL engine, checked against simple reference models."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from broker_bridge import cesql
from broker_bridge.cesql.predicates import compile_like

INT32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)


def reference_like(pattern: str) -> re.Pattern[str]:
    """Character by character translation, no shortcuts."""
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and pattern[index + 1 : index + 2] in ("%", "_"):
            out.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(out), re.DOTALL)


@given(st.text(alphabet="ab%_\\.\n", max_size=8), st.text(alphabet="ab%_\\.\n", max_size=10))
def test_like_shortcuts_agree_with_a_plain_regex(pattern, value):
    assert compile_like(pattern)(value) == bool(reference_like(pattern).fullmatch(value))


def reference_arithmetic(symbol: str, a: int, b: int) -> tuple[int, list[str]]:
    if symbol in "/%" and b == 0:
        return 0, ["math"]
    quotient = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1) if b else 0
    exact = {"+": a + b, "-": a - b, "*": a * b, "/": quotient, "%": a - b * quotient}[symbol]
    wrapped = (exact + 2**31) % 2**32 - 2**31
    return wrapped, ([] if wrapped == exact else ["math"])


@given(st.sampled_from("+-*/%"), INT32, INT32)
def test_arithmetic_is_32_bit(symbol, a, b):
    result = cesql.parse(f"a {symbol} b").evaluate({"a": a, "b": b})
    assert (result.value, [e.kind for e in result.errors]) == reference_arithmetic(symbol, a, b)


@given(INT32)
def test_integer_literals_and_string_casts_round_trip(number):
    assert cesql.parse(str(number)).evaluate({}).value == number
    assert cesql.parse(f"INT('{number}')").evaluate({}).value == number
    assert cesql.parse("STRING(n)").evaluate({"n": number}).value == str(number)


TOKENS = st.sampled_from(
    [
        "a", "b", "subject", "TRUE", "false", "1", "-2", "'x'", '"y"', "'a%'", "(", ")",
        ",", "AND", "or", "XOR", "NOT", "=", "!=", "<>", "<", ">=", "+", "-", "*", "/",
        "%", "LIKE", "IN", "EXISTS", "LENGTH", "CONCAT", "ABS", "nope", " ",
    ]
)  # fmt: skip


@settings(max_examples=400)
@given(st.lists(TOKENS, max_size=12), st.dictionaries(st.sampled_from("ab"), INT32 | st.text()))
def test_parsing_is_total_and_evaluation_never_raises(tokens, attributes):
    text = " ".join(tokens)
    try:
        expression = cesql.parse(text)
    except cesql.ParseError:
        return
    result = expression.evaluate(attributes)
    assert type(result.value) in (bool, int, str)
    assert len(result.errors) <= 1
    assert expression.matches(attributes) == (result.value is True and not result.errors)
    # the rendered tree parses back to the same tree
    rendered = expression.root.to_text()
    assert cesql.parse(rendered).root.to_text() == rendered
