"""A no-op eventfn function for benchmarks: each call appends one byte to a file."""

from __future__ import annotations

import os
from typing import Any

from worker_runtime import function

_FD = os.open(
    os.environ.get("EVENTFN_BENCH_COUNTER", os.devnull), os.O_WRONLY | os.O_APPEND | os.O_CREAT
)


@function("noop", subscribe=[{"exact": {"type": "bench.noop"}}], concurrency=1)
def noop(event: Any) -> None:
    os.write(_FD, b".")
