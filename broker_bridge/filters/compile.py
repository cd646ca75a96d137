"""Compile a declarative Subscriptions API filter spec into a filter object, once.

``compile_filter`` is what subscriptions call when they are loaded (never per event)::

    compile_filter({"all": [{"prefix": {"type": "com.example."}},
                            {"sql": "subject LIKE 'order/%'"}]})

A spec is a mapping with exactly one dialect key (``exact``, ``prefix``, ``suffix``,
``all``, ``any``, ``not``, ``sql``), or a list of such mappings, which is their
conjunction (an empty list matches every event, like Knative's trigger without
filters). Everything wrong is refused here with an :class:`InvalidFilterError` naming
the path of the offending part: an unknown dialect, two dialects in one mapping, an
empty mapping, wrong value types, an invalid CESQL expression.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from broker_bridge.filters.all_filter import AllFilter
from broker_bridge.filters.any_filter import AnyFilter
from broker_bridge.filters.base import Filter, MatchAll
from broker_bridge.filters.errors import InvalidFilterError
from broker_bridge.filters.exact_filter import ExactFilter
from broker_bridge.filters.not_filter import NotFilter
from broker_bridge.filters.prefix_filter import PrefixFilter
from broker_bridge.filters.sql_filter import SqlFilter
from broker_bridge.filters.suffix_filter import SuffixFilter

__all__ = ["DIALECTS", "compile_filter"]


def _children(value: Any, path: str, dialect: str) -> list[Filter]:
    if not isinstance(value, list | tuple):
        raise InvalidFilterError(
            path, value, f"{dialect} takes a list of filters, not {type(value).__name__}"
        )
    if not value:
        raise InvalidFilterError(path, value, f"{dialect} needs at least one filter")
    return [_compile(child, f"{path}[{index}]") for index, child in enumerate(value)]


def _not(value: Any, path: str) -> Filter:
    if not isinstance(value, Mapping):
        raise InvalidFilterError(
            path, value, f"not takes one filter (a mapping), not {type(value).__name__}"
        )
    return NotFilter(_compile(value, path))


_BUILDERS: dict[str, Callable[[Any, str], Filter]] = {
    "exact": ExactFilter,
    "prefix": PrefixFilter,
    "suffix": SuffixFilter,
    "all": lambda value, path: AllFilter(_children(value, path, "all"), path),
    "any": lambda value, path: AnyFilter(_children(value, path, "any"), path),
    "not": _not,
    "sql": SqlFilter,
}

#: the dialect names a spec may use
DIALECTS = tuple(_BUILDERS)


def _compile(spec: Any, path: str) -> Filter:
    if isinstance(spec, Filter):
        return spec
    if isinstance(spec, list | tuple):
        if not spec:
            return MatchAll()
        children = [_compile(child, f"{path}[{index}]") for index, child in enumerate(spec)]
        return children[0] if len(children) == 1 else AllFilter(children, path)
    if not isinstance(spec, Mapping):
        raise InvalidFilterError(
            path,
            spec,
            f"a filter is a mapping with one dialect key ({', '.join(DIALECTS)}), "
            f"not {type(spec).__name__}",
        )
    if not spec:
        raise InvalidFilterError(
            path, spec, f"empty filter: give one dialect ({', '.join(DIALECTS)})"
        )
    if len(spec) > 1:
        keys = ", ".join(sorted(map(str, spec)))
        raise InvalidFilterError(
            path, spec, f"one dialect per filter, found {keys}: wrap them in 'all' or 'any'"
        )
    ((dialect, value),) = spec.items()
    builder = _BUILDERS.get(dialect) if isinstance(dialect, str) else None
    if builder is None:
        raise InvalidFilterError(
            path, spec, f"unknown dialect {dialect!r}; known: {', '.join(DIALECTS)}"
        )
    return builder(value, f"{path}.{dialect}")


def compile_filter(spec: Any, *, path: str = "filter") -> Filter:
    """The compiled filter of ``spec`` (a dialect mapping or a list of them).

    Raises :class:`InvalidFilterError` (a ``ValueError``) when the spec is invalid;
    ``path`` names the spec's root in that error (``filters`` for a subscription).
    """
    return _compile(spec, path)
