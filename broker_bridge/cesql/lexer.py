"""The CESQL tokenizer: turns expression text into a list of tokens for the parser.

Follows the spec's lexer grammar (``CESQLLexer.g4``): spaces, tabs, CR and LF separate
tokens; keywords are case-insensitive; strings are ``'...'`` or ``"..."`` where a
backslash escapes the next character (``\\'`` and ``\\"`` become the quote, ``''``
inside ``'...'`` is one quote, other escapes such as ``\\%`` are kept as written so
LIKE patterns see them); a run of letters, digits and ``_`` is a word, or an integer
when it is all digits. Used by ``cesql.parser`` only.
"""

from __future__ import annotations

from typing import NamedTuple

from broker_bridge.cesql.errors import ParseError

__all__ = ["KEYWORDS", "Token", "tokenize"]

#: reserved words (compared upper-cased)
KEYWORDS = frozenset({"AND", "OR", "XOR", "NOT", "LIKE", "EXISTS", "IN", "TRUE", "FALSE"})

_OPERATORS_2 = frozenset({"!=", "<>", "<=", ">="})
_OPERATORS_1 = frozenset("()*/%+-=<>,")
_SPACE = frozenset(" \t\r\n")


class Token(NamedTuple):
    """One token: ``kind`` is ``int``, ``string``, ``word``, ``keyword``, ``op`` or
    ``end``; ``text`` is the keyword (upper-cased) or operator or word as written."""

    kind: str
    text: str
    position: int
    value: int | str | None = None


def _is_word_char(char: str) -> bool:
    return char == "_" or (char.isascii() and char.isalnum())


def _string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            following = text[index + 1]
            out.append(following if following == quote else char + following)
            index += 2
        elif char == quote:
            if index + 1 < len(text) and text[index + 1] == quote:
                out.append(quote)
                index += 2
            else:
                return "".join(out), index + 1
        else:
            out.append(char)
            index += 1
    raise ParseError(text, start, "unterminated string literal")


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an ``end`` token; raises ``ParseError``."""
    tokens: list[Token] = []
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char in _SPACE:
            index += 1
        elif char in "'\"":
            value, end = _string(text, index)
            tokens.append(Token("string", text[index:end], index, value))
            index = end
        elif _is_word_char(char):
            end = index
            while end < length and _is_word_char(text[end]):
                end += 1
            word = text[index:end]
            if word.isdigit():
                tokens.append(Token("int", word, index, int(word)))
            elif word.upper() in KEYWORDS:
                tokens.append(Token("keyword", word.upper(), index))
            else:
                tokens.append(Token("word", word, index))
            index = end
        elif text[index : index + 2] in _OPERATORS_2:
            tokens.append(Token("op", text[index : index + 2], index))
            index += 2
        elif char in _OPERATORS_1:
            tokens.append(Token("op", char, index))
            index += 1
        else:
            raise ParseError(text, index, f"unexpected character {char!r}")
    tokens.append(Token("end", "", length))
    return tokens
