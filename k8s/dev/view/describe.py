"""Human-readable summaries of subscription filters, for the ``eventfn dev`` banner and
``eventfn status``.

A function's ``subscribe=[...]`` is a conjunction of Subscriptions API filters
(:mod:`broker_bridge.filters`); :func:`describe_subscriptions` turns it into one line::

    [{"exact": {"type": "com.example.order.created"}}, {"sql": "subject LIKE 'o/%'"}]
    -> type = com.example.order.created and sql(subject LIKE 'o/%')

Pure; never compiles or validates (the registry did that at registration).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["NO_SUBSCRIPTIONS", "describe_filter", "describe_subscriptions", "example_event_type"]

#: What a function without ``subscribe`` receives.
NO_SUBSCRIPTIONS = "(direct invocations only)"

_ATTRIBUTE_VERBS = {"exact": "=", "prefix": "starts with", "suffix": "ends with"}


def _attributes(dialect: str, value: Any) -> str:
    if not isinstance(value, Mapping) or not value:
        return f"{dialect}({json.dumps(value, default=str)})"
    verb = _ATTRIBUTE_VERBS[dialect]
    return " and ".join(f"{name} {verb} {value[name]}" for name in value)


def _group(text: str, parts: int) -> str:
    return f"({text})" if parts > 1 else text


def describe_filter(spec: Any) -> str:
    """One filter spec (a mapping with one dialect key, or a list: their conjunction)."""
    if isinstance(spec, list | tuple):
        return _join(spec, " and ") if spec else "every event"
    described = None
    if isinstance(spec, Mapping) and len(spec) == 1:
        ((dialect, value),) = spec.items()
        described = _describe(dialect, value)
    return described if described is not None else json.dumps(spec, default=str, sort_keys=True)


def _describe(dialect: str, value: Any) -> str | None:
    if dialect in _ATTRIBUTE_VERBS:
        return _attributes(dialect, value)
    if dialect == "sql":
        return f"sql({value})"
    if dialect == "not":
        return f"not ({describe_filter(value)})"
    if dialect in ("all", "any") and isinstance(value, list | tuple) and value:
        return _join(value, " and " if dialect == "all" else " or ")
    return None


def _join(children: Any, joiner: str) -> str:
    return joiner.join(_group(describe_filter(child), _arity(child)) for child in children)


def _arity(spec: Any) -> int:
    """How many parts a filter's description joins (to know when to parenthesize)."""
    if isinstance(spec, list | tuple):
        return len(spec)
    if isinstance(spec, Mapping) and len(spec) == 1:
        ((dialect, value),) = spec.items()
        if dialect in ("all", "any") and isinstance(value, list | tuple):
            return len(value)
        if dialect in _ATTRIBUTE_VERBS and isinstance(value, Mapping):
            return len(value)
    return 1


def describe_subscriptions(filters: Sequence[Mapping[str, Any]]) -> str:
    """A function's ``subscribe`` list as one line; :data:`NO_SUBSCRIPTIONS` when empty."""
    if not filters:
        return NO_SUBSCRIPTIONS
    return describe_filter(list(filters))


#: Last segments of event types that usually start a flow (what a user would send).
_ENTRY_VERBS = ("created", "placed", "submitted", "requested", "received", "uploaded")


def example_event_type(subscriptions: Sequence[Sequence[Mapping[str, Any]]]) -> str | None:
    """An event type some function subscribes to exactly (for the banner's hints),
    preferably one that looks like the start of a flow (``*.created``, ...)."""
    found = [
        found
        for filters in subscriptions
        for spec in filters
        if (found := _exact_type(spec)) is not None
    ]
    entries = [t for t in found if t.rsplit(".", 1)[-1] in _ENTRY_VERBS]
    candidates = entries or found
    return candidates[0] if candidates else None


def _exact_type(spec: Any) -> str | None:
    if not isinstance(spec, Mapping) or len(spec) != 1:
        return None
    ((dialect, value),) = spec.items()
    if dialect == "exact" and isinstance(value, Mapping) and isinstance(value.get("type"), str):
        return str(value["type"])
    if dialect in ("all", "any") and isinstance(value, list | tuple):
        for child in value:
            found = _exact_type(child)
            if found is not None:
                return found
    return None
