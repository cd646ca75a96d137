"""``sales-report``: a background job fed straight onto its queue, with typed data.

It subscribes to nothing: nothing published to the bridge reaches it. It is invoked
directly, as a task queue job::

    from functions.reports import generate_sales_report
    generate_sales_report.send({"period": "2024-05"})          # from Python
    eventfn invoke sales-report --data '{"period": "2024-05"}'  # from a shell
    curl http://127.0.0.1:8080/functions/sales-report ...       # over HTTP

``data_model=ReportRequest``: the runtime validates the data before the handler
runs; invalid data (a bad period, an unknown format) is dead-lettered at once with
``InvalidEventData``, never retried. The handler receives a ``ReportRequest``.

The demo data warehouse answers "busy" to the first ``warehouse_busy`` attempts of a
request (a transient failure, :class:`WarehouseBusy` is a ``RetryableError``): the
job is retried with exponential backoff (1 s, 2 s, 4 s, ... capped at 30 s) and
succeeds on the next attempt, or is dead-lettered once ``max_attempts`` (5) are spent.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from cloudevents.core.base import BaseCloudEvent
from pydantic import BaseModel, ConfigDict, Field

from functions.events import REPORT_READY, event_log, model_data, reply
from worker_runtime import Retry, RetryableError, function
from worker_runtime.context import current_delivery

__all__ = ["Report", "ReportRequest", "WarehouseBusy", "build_report", "generate_sales_report"]


class ReportRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    format: Literal["csv", "json"] = "csv"
    warehouse_busy: int = Field(
        default=0, ge=0, le=10, description="demo: the warehouse is busy for this many attempts"
    )


class Report(BaseModel):
    model_config = ConfigDict(frozen=True)

    period: str
    format: str
    rows: int
    url: str
    attempts: int


class WarehouseBusy(RetryableError):
    """The data warehouse cannot serve the query right now."""


def build_report(request: ReportRequest, attempt: int) -> Report:
    """Run the report for ``request`` on ``attempt`` (1 for the first call)."""
    if attempt <= request.warehouse_busy:
        raise WarehouseBusy(
            f"warehouse busy (attempt {attempt}; busy for {request.warehouse_busy})"
        )
    digest = hashlib.sha256(request.period.encode()).digest()
    rows = 100 + int.from_bytes(digest[:2], "big") % 900
    return Report(
        period=request.period,
        format=request.format,
        rows=rows,
        url=f"file:///var/lib/reports/sales-{request.period}.{request.format}",
        attempts=attempt,
    )


@function(
    "sales-report",
    data_model=ReportRequest,
    retry=Retry(max_attempts=5, backoff="exponential", delay=1.0, max_delay=30.0, jitter=0.1),
    timeout=120.0,
)
def generate_sales_report(event: BaseCloudEvent) -> dict[str, Any]:
    """Build the monthly sales report; reply ``com.example.report.ready``."""
    request = model_data(event, ReportRequest)
    delivery = current_delivery()
    log = event_log(event, "sales-report")
    log.info(
        "building report",
        period=request.period,
        max_attempts=delivery.max_attempts,
    )
    report = build_report(request, delivery.attempt)
    log.info("report ready", period=report.period, rows=report.rows, url=report.url)
    return reply(REPORT_READY, report.model_dump(mode="json"), subject=f"report/{report.period}")
