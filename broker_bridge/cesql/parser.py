"""The CESQL v1 parser: recursive descent with one function per precedence level.

Called once per expression by :func:`broker_bridge.cesql.parse`; the tree it builds is
then evaluated per event. Precedence, from loosest to tightest, as spec v1 section 3.6
orders it (equal precedence groups left to right)::

    AND OR XOR                      one level: ``a AND b OR c`` is ``(a AND b) OR c``
    = != <> < <= > >=
    + -
    * / %
    x [NOT] LIKE 'p', x [NOT] IN (...)
    NOT x, -x                       so ``NOT a = b`` is ``(NOT a) = b``
    literals, attributes, EXISTS name, NAME(args), ( expression )

A minus sign directly before an integer is part of the literal (the grammar's
``('+'|'-')? digit+``), so ``-2147483648`` is a valid 32-bit literal. Every problem is a
:class:`~broker_bridge.cesql.errors.ParseError` naming the offset; expressions nested
deeper than :data:`MAX_DEPTH` are refused so evaluation never exhausts the stack.
"""

from __future__ import annotations

import re

from broker_bridge.cesql.calls import Call
from broker_bridge.cesql.errors import ParseError
from broker_bridge.cesql.functions import resolve
from broker_bridge.cesql.lexer import Token, tokenize
from broker_bridge.cesql.nodes import Attribute, Exists, Literal, Negate, Node, Not
from broker_bridge.cesql.operators import (
    COMPARISON,
    And,
    Arithmetic,
    Equal,
    NotEqual,
    Or,
    Ordering,
    Xor,
)
from broker_bridge.cesql.predicates import In, Like
from broker_bridge.cesql.values import INT32_MAX, INT32_MIN

__all__ = ["MAX_DEPTH", "parse_tree"]

#: deepest nesting of sub-expressions accepted (parentheses, unary operators, calls)
MAX_DEPTH = 64

_IDENTIFIER = re.compile(r"[A-Za-z0-9]+")
_FUNCTION_NAME = re.compile(r"[A-Za-z][A-Za-z_]*")
_LOGICAL = {"AND": And, "OR": Or, "XOR": Xor}


def _describe(token: Token) -> str:
    return "end of expression" if token.kind == "end" else repr(token.text)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0

    # -- token helpers ---------------------------------------------------------------
    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def error(self, token: Token, reason: str) -> ParseError:
        return ParseError(self.text, token.position, reason)

    def is_op(self, token: Token, *symbols: str) -> bool:
        return token.kind == "op" and token.text in symbols

    def is_keyword(self, token: Token, *words: str) -> bool:
        return token.kind == "keyword" and token.text in words

    def expect_op(self, symbol: str) -> Token:
        token = self.advance()
        if not self.is_op(token, symbol):
            raise self.error(token, f"expected {symbol!r}, found {_describe(token)}")
        return token

    def enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(token, f"expression nested deeper than {MAX_DEPTH} levels")

    # -- grammar -----------------------------------------------------------------
    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error(self.peek(), "empty expression")
        node = self.logical()
        token = self.peek()
        if token.kind != "end":
            raise self.error(token, f"unexpected {_describe(token)}")
        return node

    def logical(self) -> Node:
        left = self.comparison()
        while self.is_keyword(self.peek(), *_LOGICAL):
            operator = _LOGICAL[self.advance().text]
            left = operator(left, self.comparison())
        return left

    def comparison(self) -> Node:
        left = self.additive()
        while self.peek().kind == "op" and self.peek().text in COMPARISON:
            symbol = self.advance().text
            right = self.additive()
            if symbol == "=":
                left = Equal(left, right)
            elif symbol in ("!=", "<>"):
                left = NotEqual(left, right)
            else:
                left = Ordering(symbol, left, right)
        return left

    def additive(self) -> Node:
        left = self.multiplicative()
        while self.is_op(self.peek(), "+", "-"):
            symbol = self.advance().text
            left = Arithmetic(symbol, left, self.multiplicative())
        return left

    def multiplicative(self) -> Node:
        left = self.postfix()
        while self.is_op(self.peek(), "*", "/", "%"):
            symbol = self.advance().text
            left = Arithmetic(symbol, left, self.postfix())
        return left

    def postfix(self) -> Node:
        node = self.unary()
        while True:
            negated = False
            if self.is_keyword(self.peek(), "NOT") and self.is_keyword(self.peek(1), "LIKE", "IN"):
                self.advance()
                negated = True
            token = self.peek()
            if self.is_keyword(token, "LIKE"):
                self.advance()
                pattern = self.advance()
                if pattern.kind != "string":
                    raise self.error(
                        pattern, f"LIKE needs a string literal pattern, found {_describe(pattern)}"
                    )
                node = Like(node, str(pattern.value), negated=negated)
            elif self.is_keyword(token, "IN"):
                self.advance()
                node = In(node, self.set_expression(), negated=negated)
            else:
                return node

    def set_expression(self) -> tuple[Node, ...]:
        opening = self.expect_op("(")
        self.enter(opening)
        elements = [self.logical()]
        while self.is_op(self.peek(), ","):
            self.advance()
            elements.append(self.logical())
        self.expect_op(")")
        self.depth -= 1
        return tuple(elements)

    def unary(self) -> Node:
        token = self.peek()
        if self.is_op(token, "-", "+") and self.peek(1).kind == "int":
            self.advance()
            number = self.advance()
            return self.integer(number, -int(number.value or 0) if token.text == "-" else None)
        if self.is_keyword(token, "NOT") or self.is_op(token, "-"):
            self.advance()
            self.enter(token)
            operand = self.unary()
            self.depth -= 1
            return Not(operand) if token.kind == "keyword" else Negate(operand)
        return self.primary()

    def integer(self, token: Token, signed: int | None = None) -> Node:
        value = int(token.value or 0) if signed is None else signed
        if value < INT32_MIN or value > INT32_MAX:
            raise self.error(token, f"integer literal {value} is outside the 32-bit range")
        return Literal(value)

    def primary(self) -> Node:
        token = self.advance()
        if token.kind == "int":
            return self.integer(token)
        if token.kind == "string":
            return Literal(str(token.value))
        if self.is_keyword(token, "TRUE", "FALSE"):
            return Literal(token.text == "TRUE")
        if self.is_keyword(token, "EXISTS"):
            return self.exists()
        if token.kind == "word":
            return self.call(token) if self.is_op(self.peek(), "(") else self.attribute(token)
        if self.is_op(token, "("):
            return self.group(token)
        raise self.error(token, f"unexpected {_describe(token)}")

    def exists(self) -> Node:
        name = self.advance()
        if name.kind != "word":
            raise self.error(name, f"EXISTS needs an attribute name, found {_describe(name)}")
        return Exists(self.identifier(name))

    def attribute(self, token: Token) -> Node:
        return Attribute(self.identifier(token))

    def group(self, opening: Token) -> Node:
        self.enter(opening)
        node = self.logical()
        self.expect_op(")")
        self.depth -= 1
        return node

    def identifier(self, token: Token) -> str:
        if not _IDENTIFIER.fullmatch(token.text):
            raise self.error(
                token, f"{token.text!r} is not an attribute name (letters and digits only)"
            )
        return token.text.lower()

    def call(self, token: Token) -> Node:
        if not _FUNCTION_NAME.fullmatch(token.text):
            raise self.error(token, f"{token.text!r} is not a function name")
        opening = self.expect_op("(")
        self.enter(opening)
        args: list[Node] = []
        if not self.is_op(self.peek(), ")"):
            args.append(self.logical())
            while self.is_op(self.peek(), ","):
                self.advance()
                args.append(self.logical())
        self.expect_op(")")
        self.depth -= 1
        return Call(token.text, tuple(args), resolve(token.text, len(args)))


def _tree_depth(root: Node) -> int:
    deepest = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.children())
    return deepest


def parse_tree(text: str) -> Node:
    """The root node of the expression ``text``; raises ``ParseError``."""
    root = _Parser(text).parse()
    if _tree_depth(root) > MAX_DEPTH:
        raise ParseError(text, 0, f"expression nested deeper than {MAX_DEPTH} levels")
    return root
