"""Encode+decode throughput of every binding and mode: eventfn's codecs vs the bare SDK.

Measures, in one run and on the same event, events/s for one write plus one read
through ``broker_bridge`` (strict validation, the corrections documented in the
modules) and through the bare ``cloudevents.core`` calls, and prints the ratio
(ours / SDK; above 1 means we are faster). Prints a table, then one JSON line.

    python bench/bench_codecs.py [--events N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cloudevents.core.bindings import http as sdk_http
from cloudevents.core.bindings import rabbitmq as sdk_rabbitmq
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from broker_bridge.bindings import amqp, http
from broker_bridge.event import new_event
from broker_bridge.formats import batch
from broker_bridge.formats.json import from_json, to_json

ATTRIBUTES = {
    "specversion": "1.0",
    "id": "4f6b1a2e-6c1d-4c47-9d3e-2f6a2f0c1b7d",
    "source": "https://orders.example.com/api",
    "type": "com.example.order.created",
    "subject": "order/12345",
    "time": datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC),
    "datacontenttype": "application/json",
    "tenant": "acme",
    "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
}
DATA = {
    "order": 12345,
    "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-7", "qty": 1}],
    "total": 42.5,
}


def ours_cases(event):
    def json_mode():
        from_json(to_json(event))

    def batch_mode():
        batch.from_batch(batch.to_batch([event]))

    def http_binary():
        message = http.to_binary(event)
        http.from_http(message.headers, message.body)

    def http_structured():
        message = http.to_structured(event)
        http.from_http(message.headers, message.body)

    def amqp_binary():
        message = amqp.to_amqp(event, "binary")
        amqp.from_amqp(message.body, message.headers, message.content_type)

    def amqp_structured():
        message = amqp.to_amqp(event, "structured")
        amqp.from_amqp(message.body, message.headers, message.content_type)

    return {
        "json": json_mode,
        "batch (1 event)": batch_mode,
        "http binary": http_binary,
        "http structured": http_structured,
        "amqp binary": amqp_binary,
        "amqp structured": amqp_structured,
    }


def sdk_cases(event):
    fmt = JSONFormat()

    def json_mode():
        fmt.read(CloudEvent, fmt.write(event))

    def http_binary():
        sdk_http.from_binary(sdk_http.to_binary(event, fmt), fmt, CloudEvent)

    def http_structured():
        sdk_http.from_structured(sdk_http.to_structured(event, fmt), fmt, CloudEvent)

    def amqp_binary():
        sdk_rabbitmq.from_binary(sdk_rabbitmq.to_binary(event, fmt), fmt, CloudEvent)

    def amqp_structured():
        sdk_rabbitmq.from_structured(sdk_rabbitmq.to_structured(event, fmt), fmt, CloudEvent)

    return {
        "json": json_mode,
        "http binary": http_binary,
        "http structured": http_structured,
        "amqp binary": amqp_binary,
        "amqp structured": amqp_structured,
    }


def rate(function, events: int, repeat: int) -> float:
    """Best events/s over ``repeat`` runs of ``events`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(events):
            function()
        best = min(best, time.perf_counter() - start)
    return events / best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="calls per timed run")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; the best counts")
    args = parser.parse_args(argv)

    ours = ours_cases(new_event(dict(ATTRIBUTES), DATA))
    sdk = sdk_cases(CloudEvent(dict(ATTRIBUTES), DATA))
    results = {}
    print(f"{'binding/mode':<18}{'eventfn ev/s':>14}{'bare SDK ev/s':>15}{'ratio':>8}")
    for name, function in ours.items():
        function()  # warm caches; also proves it works
        mine = rate(function, args.events, args.repeat)
        theirs = rate(sdk[name], args.events, args.repeat) if name in sdk else None
        ratio = mine / theirs if theirs else None
        results[name] = {
            "eventfn": round(mine),
            "sdk": round(theirs) if theirs else None,
            "ratio": round(ratio, 2) if ratio else None,
        }
        sdk_text = f"{theirs:>15,.0f}" if theirs else f"{'(none)':>15}"
        ratio_text = f"{ratio:>7.2f}x" if ratio else f"{'n/a':>8}"
        print(f"{name:<18}{mine:>14,.0f}{sdk_text}{ratio_text}")
    print(
        json.dumps(
            {
                "benchmark": "codecs",
                "events": args.events,
                "repeat": args.repeat,
                "results": results,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
