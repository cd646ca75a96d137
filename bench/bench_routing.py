"""Routing decisions per second of ``broker_bridge.routing.RoutingTable``.

Scenarios, in one run: 1, 100 and 1,000 subscriptions with an ``exact`` filter on
``type`` (indexed: the cost must not grow with their number), and 100 subscriptions
with a CESQL ``sql`` filter (evaluated in order). Every event matches exactly one
subscription. Prints a table and then one JSON line; the ratio of 1,000 to 1 exact-type
subscriptions should be at least 0.9; for context the same ratio of a bare ``dict.get``
over the same events is printed too (1,000 distinct keys cost some cache misses that one
key does not, whatever the index).

    python bench/bench_routing.py [--events 200000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time

from broker_bridge.routing import RoutingTable
from broker_bridge.subscriptions import Subscription, SubscriptionTable

TARGET_RATIO = 0.9


def exact_table(count: int) -> RoutingTable:
    return RoutingTable.from_subscriptions(
        SubscriptionTable(
            subscriptions=[
                Subscription(
                    name=f"sub-{i}",
                    function=f"fn-{i}",
                    filters=[{"exact": {"type": f"com.example.event{i}.created"}}],
                )
                for i in range(count)
            ]
        )
    )


def cesql_table(count: int) -> RoutingTable:
    return RoutingTable.from_subscriptions(
        SubscriptionTable(
            subscriptions=[
                Subscription(
                    name=f"sub-{i}",
                    function=f"fn-{i}",
                    filters=[{"sql": f"subject LIKE 'order/{i}/%' AND source LIKE 'https://%'"}],
                )
                for i in range(count)
            ]
        )
    )


def exact_events(count: int, events: int, rng: random.Random) -> list[dict[str, str]]:
    return [
        {
            "specversion": "1.0",
            "id": str(n),
            "source": "https://example.com/shop",
            "type": f"com.example.event{rng.randrange(count)}.created",
            "subject": f"order/{n}",
        }
        for n in range(events)
    ]


def cesql_events(count: int, events: int, rng: random.Random) -> list[dict[str, str]]:
    return [
        {
            "specversion": "1.0",
            "id": str(n),
            "source": "https://example.com/shop",
            "type": "com.example.order.created",
            "subject": f"order/{rng.randrange(count)}/{n}",
        }
        for n in range(events)
    ]


def one_pass(table: RoutingTable, events: list[dict[str, str]]) -> float:
    """Seconds to route every event once."""
    route = table.route
    start = time.perf_counter()
    for event in events:
        route(event)
    return time.perf_counter() - start


def dict_floor(events: list[dict[str, str]], count: int, repeat: int) -> float:
    """Best seconds for a bare ``dict.get`` of each event's type among ``count`` types:
    the floor any type index in CPython pays, cache effects included."""
    index = {f"com.example.event{i}.created": (f"fn-{i}",) for i in range(count)}
    get = index.get
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for event in events:
            get(event["type"])
        best = min(best, time.perf_counter() - start)
    return best


def measure(
    scenarios: list[tuple[str, RoutingTable, list[dict[str, str]]]], repeat: int
) -> dict[str, float]:
    """Best rate of each scenario, in decisions per second. Passes are interleaved
    (round-robin) so that clock and cache drifts hit every scenario alike."""
    for _, table, events in scenarios:  # warm-up, and a sanity check of the scenario
        for event in events[:1000]:
            assert len(table.route(event)) == 1, event
    best = {name: float("inf") for name, _, _ in scenarios}
    for _ in range(repeat):
        for name, table, events in scenarios:
            best[name] = min(best[name], one_pass(table, events))
    return {name: len(events) / best[name] for name, _, events in scenarios}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="events per pass")
    parser.add_argument("--repeat", type=int, default=5, help="passes; the best one counts")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)

    scenarios = [
        ("exact-type x1", exact_table(1), exact_events(1, args.events, rng)),
        ("exact-type x100", exact_table(100), exact_events(100, args.events, rng)),
        ("exact-type x1000", exact_table(1000), exact_events(1000, args.events, rng)),
        # every event tries up to 100 expressions: a tenth of the events is plenty
        ("cesql x100", cesql_table(100), cesql_events(100, max(args.events // 10, 1000), rng)),
    ]
    rates = measure(scenarios, args.repeat)
    ratio = rates["exact-type x1000"] / rates["exact-type x1"]
    floor_ratio = dict_floor(scenarios[0][2], 1, args.repeat) / dict_floor(
        scenarios[2][2], 1000, args.repeat
    )

    print(f"{'scenario':<20}{'decisions/s':>15}{'us/decision':>14}")
    for name, rate in rates.items():
        print(f"{name:<20}{rate:>15,.0f}{1e6 / rate:>14.3f}")
    verdict = "ok" if ratio >= TARGET_RATIO else "BELOW TARGET"
    print(f"ratio x1000 / x1: {ratio:.3f} (target >= {TARGET_RATIO}: {verdict})")
    print(
        f"same ratio for a bare dict.get on the same events (the CPython floor): {floor_ratio:.3f}"
    )
    print(
        json.dumps(
            {
                "bench": "routing",
                "python": platform.python_version(),
                "events_per_pass": args.events,
                "repeat": args.repeat,
                "decisions_per_second": {name: round(rate) for name, rate in rates.items()},
                "ratio_1000_vs_1": round(ratio, 3),
                "bare_dict_ratio_1000_vs_1": round(floor_ratio, 3),
                "target_ratio": TARGET_RATIO,
                "ok": ratio >= TARGET_RATIO,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
