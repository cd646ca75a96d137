"""No-op eventfn functions for benchmarks: each call appends one byte to a file.

``EVENTFN_BENCH_COUNTER``: the file the bytes go to. ``EVENTFN_BENCH_LATENCY``: when
set, each call also appends ``now - data["t"]`` (seconds, one line) to that file, the
time from publish to handler start. ``EVENTFN_BENCH_FANOUT=1`` adds two more functions
on the same type (fan-out to 3); ``EVENTFN_BENCH_EXTRA_SUBSCRIPTIONS=N`` adds N functions
subscribed to other exact types (a big routing table; they never run).
"""

from __future__ import annotations

import os
import time
from typing import Any

from worker_runtime import function

_FD = os.open(
    os.environ.get("EVENTFN_BENCH_COUNTER", os.devnull), os.O_WRONLY | os.O_APPEND | os.O_CREAT
)
_LATENCY = os.environ.get("EVENTFN_BENCH_LATENCY")
_LAT_FD = os.open(_LATENCY, os.O_WRONLY | os.O_APPEND | os.O_CREAT) if _LATENCY else None


def _record(event: Any) -> None:
    if _LAT_FD is not None:
        data = event.get_data()
        if isinstance(data, dict) and "t" in data:
            os.write(_LAT_FD, f"{time.time() - data['t']:.6f}\n".encode())
    os.write(_FD, b".")


@function("noop", subscribe=[{"exact": {"type": "bench.noop"}}], concurrency=1)
def noop(event: Any) -> None:
    _record(event)


if os.environ.get("EVENTFN_BENCH_FANOUT") == "1":

    @function("noop-b", subscribe=[{"exact": {"type": "bench.noop"}}], concurrency=1)
    def noop_b(event: Any) -> None:
        _record(event)

    @function("noop-c", subscribe=[{"exact": {"type": "bench.noop"}}], concurrency=1)
    def noop_c(event: Any) -> None:
        _record(event)


def _extra(n: int) -> None:
    def never(event: Any) -> None:  # the extra subscriptions never match bench.noop
        raise AssertionError(event)

    function(f"other-{n:04d}", subscribe=[{"exact": {"type": f"bench.other.{n}"}}])(never)


for _n in range(int(os.environ.get("EVENTFN_BENCH_EXTRA_SUBSCRIPTIONS", "0"))):
    _extra(_n)
