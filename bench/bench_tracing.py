"""Tracing overhead on the worker's execution path, as ratios in one run.

    python bench/bench_tracing.py --events 20000 --rounds 5

Runs the full middleware chain (``build_pipeline``; a recording outbox, a memory
state store, a handler that returns None) over ``--events`` deliveries in three
variants, interleaved over ``--rounds`` rounds, best round each:

* ``no-tracing``: the chain without the tracing middleware (the baseline);
* ``api-only``: the default chain, OpenTelemetry API without an SDK;
* ``sdk-batch``: the SDK with a BatchSpanProcessor exporting OTLP/HTTP to a
  receiver on loopback (tests/support/otlp_receiver.py), flushed inside the clock.

Prints events/s and the ratio to the baseline, then one JSON line. This is the
worker's per-event cost, not the whole system (no broker): the publish and route
spans are not in it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "unit" / "worker_runtime"))

from prometheus_client import CollectorRegistry  # noqa: E402
from wr_fakes import RecordingOutbox, body  # noqa: E402

from broker_bridge.logs import configure_logging  # noqa: E402
from worker_runtime.context import Delivery  # noqa: E402
from worker_runtime.execution import Pipeline, default_middleware  # noqa: E402
from worker_runtime.metrics import WorkerMetrics  # noqa: E402
from worker_runtime.middleware import Tracing  # noqa: E402
from worker_runtime.registry import FunctionSpec  # noqa: E402
from worker_runtime.state import MemoryStore  # noqa: E402

TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def pipeline(with_tracing: bool) -> Pipeline:
    spec = FunctionSpec(name="bench", handler=lambda event: None)
    chain = default_middleware(
        spec,
        outbox=RecordingOutbox(),
        store=MemoryStore(),
        metrics=WorkerMetrics(CollectorRegistry()),
        messaging_system="rabbitmq",
    )
    if not with_tracing:
        chain = [m for m in chain if not isinstance(m, Tracing)]
    return Pipeline(spec, chain)


def run(p: Pipeline, deliveries: list[Delivery], flush: Any = None) -> float:
    started = time.perf_counter()
    for delivery in deliveries:
        p.run(delivery)
    if flush is not None:
        flush()
    return len(deliveries) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    configure_logging("json", "WARNING", force=True)
    spec = FunctionSpec(name="bench", handler=lambda event: None)
    deliveries = [
        Delivery(spec=spec, body=body(f"e{i}", {"i": i}, traceparent=TRACE), task_id=f"t{i}")
        for i in range(args.events)
    ]
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter,
    )
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    sys.path.insert(0, str(REPO))
    from tests.support.otlp_receiver import otlp_receiver
    from tests.support.tracing import _reset

    best: dict[str, float] = {"no-tracing": 0.0, "api-only": 0.0, "sdk-batch": 0.0}
    with otlp_receiver() as receiver:
        for _ in range(args.rounds):
            _reset()
            best["no-tracing"] = max(best["no-tracing"], run(pipeline(False), deliveries))
            best["api-only"] = max(best["api-only"], run(pipeline(True), deliveries))
            provider = TracerProvider()
            provider.add_span_processor(
                BatchSpanProcessor(
                    OTLPSpanExporter(endpoint=receiver.url + "/v1/traces"),
                    max_queue_size=args.events * 2,
                )
            )
            trace.set_tracer_provider(provider)
            rate = run(pipeline(True), deliveries, flush=provider.force_flush)
            best["sdk-batch"] = max(best["sdk-batch"], rate)
            provider.shutdown()
            _reset()
        received = len(receiver.snapshot())
    base = best["no-tracing"]
    for name, rate in best.items():
        print(f"{name:11s} {rate:10.0f} events/s  {rate / base:.3f}x")
    print(f"spans received: {received} (expected {args.events * args.rounds})")
    ratios = {name: round(rate / base, 3) for name, rate in best.items()}
    print(json.dumps({"events_per_s": best, "ratio": ratios, "spans_received": received}))


if __name__ == "__main__":
    main()
