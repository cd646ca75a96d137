"""Label and field selectors, as the API server evaluates ``labelSelector`` and
``fieldSelector`` query parameters on list, watch and deletecollection."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Match = Callable[[dict[str, Any]], bool]
_SET = re.compile(r"^\s*(?P<key>[^\s!=]+)\s+(?P<op>in|notin)\s+\((?P<values>[^)]*)\)\s*$")


def _terms(selector: str) -> list[str]:
    """Split on commas outside parentheses."""
    terms, depth, current = [], 0, ""
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        terms.append(current)
    return [t.strip() for t in terms if t.strip()]


def label_selector(selector: str | None) -> Match:
    tests: list[Callable[[dict[str, str]], bool]] = []
    for term in _terms(selector or ""):
        found = _SET.match(term)
        if found:
            values = {v.strip() for v in found["values"].split(",")}
            key = found["key"]
            if found["op"] == "in":
                tests.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                tests.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
        elif "!=" in term:
            key, value = (s.strip() for s in term.split("!=", 1))
            tests.append(lambda labels, k=key, v=value: labels.get(k) != v)
        elif "=" in term:
            key, value = (s.strip() for s in term.replace("==", "=").split("=", 1))
            tests.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif term.startswith("!"):
            absent = term[1:].strip()
            tests.append(lambda labels, k=absent: k not in labels)
        else:
            tests.append(lambda labels, k=term: k in labels)

    def match(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(test(labels) for test in tests)

    return match


def matches_labels(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A ``LabelSelector`` object (matchLabels/matchExpressions), as controllers use it."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, op, values = expression["key"], expression["operator"], expression.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def field_selector(selector: str | None) -> Match:
    tests: list[Callable[[dict[str, Any]], bool]] = []
    for term in _terms(selector or ""):
        negate = "!=" in term
        path, value = (s.strip() for s in term.replace("!=", "=").replace("==", "=").split("=", 1))
        keys = path.split(".")
        tests.append(lambda obj, p=keys, v=value, n=negate: (_field(obj, p) == v) != n)

    def match(obj: dict[str, Any]) -> bool:
        return all(test(obj) for test in tests)

    return match


def _field(obj: Any, path: list[str]) -> str:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return "" if obj is None else str(obj)
