"""The peer baseline: a stock Celery app whose task does what ``noop`` does.

JSON serialization and late acks as eventfn uses them, everything else stock.
"""

from __future__ import annotations

import os

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


@app.task(name="plain.noop")
def noop(payload: dict[str, object]) -> None:
    os.write(_FD, b".")
