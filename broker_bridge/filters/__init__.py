"""Subscriptions API filters (Knative-style dialects), compiled once and run per event.

::

    from broker_bridge.filters import compile_filter

    f = compile_filter({"all": [{"prefix": {"type": "com.example."}},
                                {"sql": "subject LIKE 'order/%'"}]})
    f.matches(event)            # CloudEvent or Mapping of attributes -> bool

Dialects, one module each: ``exact``, ``prefix``, ``suffix`` (attribute maps, every
entry must hold), ``all``, ``any``, ``not`` (composition) and ``sql`` (a CESQL v1
expression, see :mod:`broker_bridge.cesql`). An invalid spec raises
:class:`InvalidFilterError` at compile time. Used by ``broker_bridge.subscriptions`` and
``broker_bridge.routing``, and public through ``broker_bridge``.
"""

from __future__ import annotations

from broker_bridge.filters.all_filter import AllFilter
from broker_bridge.filters.any_filter import AnyFilter
from broker_bridge.filters.attribute_filter import AttributeFilter
from broker_bridge.filters.base import Filter, MatchAll
from broker_bridge.filters.compile import DIALECTS, compile_filter
from broker_bridge.filters.errors import InvalidFilterError
from broker_bridge.filters.exact_filter import ExactFilter
from broker_bridge.filters.not_filter import NotFilter
from broker_bridge.filters.prefix_filter import PrefixFilter
from broker_bridge.filters.sql_filter import SqlFilter
from broker_bridge.filters.suffix_filter import SuffixFilter

__all__ = [
    "DIALECTS",
    "AllFilter",
    "AnyFilter",
    "AttributeFilter",
    "ExactFilter",
    "Filter",
    "InvalidFilterError",
    "MatchAll",
    "NotFilter",
    "PrefixFilter",
    "SqlFilter",
    "SuffixFilter",
    "compile_filter",
]
