"""The peer baseline: a stock Celery app whose task does what ``noop`` does.

JSON serialization and late acks as eventfn uses them, everything else stock.
"""

from __future__ import annotations

import os
import time

from celery import Celery

app = Celery("plain", broker=os.environ["BENCH_BROKER_URL"])
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_acks_late=True,
    worker_prefetch_multiplier=int(os.environ.get("BENCH_PREFETCH_MULTIPLIER", "4")),
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    broker_transport_options={"socket_timeout": None}
    if "redis" in os.environ["BENCH_BROKER_URL"]
    else {},
)
_FD = os.open(
    os.environ.get("EVENTFN_BENCH_COUNTER", os.devnull), os.O_WRONLY | os.O_APPEND | os.O_CREAT
)


_LATENCY = os.environ.get("EVENTFN_BENCH_LATENCY")
_LAT_FD = os.open(_LATENCY, os.O_WRONLY | os.O_APPEND | os.O_CREAT) if _LATENCY else None


@app.task(name="plain.noop")
def noop(payload: dict[str, float]) -> None:
    if _LAT_FD is not None and "t" in payload:
        os.write(_LAT_FD, f"{time.time() - payload['t']:.6f}\n".encode())
    os.write(_FD, b".")
