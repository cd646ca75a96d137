"""Functions whose subscriptions exercise every routing path (loaded by path)."""

from __future__ import annotations

from typing import Any

from worker_runtime import function


def _noop(event: Any) -> None:
    return None


function("fan-exact", subscribe=[{"exact": {"type": "com.example.fan"}}])(_noop)
function("fan-prefix", subscribe=[{"prefix": {"type": "com.example."}}])(_noop)
function(
    "fan-sql",
    subscribe=[
        {"exact": {"type": "com.example.fan"}},
        {"sql": "subject LIKE 'order/%'"},
    ],
)(_noop)
function(
    "fan-mixed",
    subscribe=[
        {"any": [{"suffix": {"source": "/vip"}}, {"exact": {"tier": "gold"}}]},
        {"not": {"prefix": {"type": "org."}}},
    ],
)(_noop)
function("direct-only")(_noop)

FUNCTIONS = ["fan-exact", "fan-prefix", "fan-sql", "fan-mixed", "direct-only"]
