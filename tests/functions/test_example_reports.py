"""``sales-report`` (functions/reports.py): a background job invoked directly, typed
data (``data_model=ReportRequest``), retries with exponential backoff."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from functions.events import REPORT_READY
from functions.reports import ReportRequest, WarehouseBusy, build_report, generate_sales_report
from worker_runtime import RetryableError

pytestmark = pytest.mark.eventfn_functions("functions")

WAIT = 120.0


# -- the job's logic ----------------------------------------------------------------------
def test_the_report_is_built_once_the_warehouse_is_free():
    request = ReportRequest(period="2024-05", warehouse_busy=2)
    for attempt in (1, 2):
        with pytest.raises(WarehouseBusy, match=f"attempt {attempt}; busy for 2"):
            build_report(request, attempt)
    report = build_report(request, 3)
    assert report.attempts == 3
    assert report.url == "file:///var/lib/reports/sales-2024-05.csv"
    assert 100 <= report.rows < 1000
    assert build_report(request, 4).rows == report.rows  # the same period, the same report
    assert issubclass(WarehouseBusy, RetryableError)


@pytest.mark.parametrize(
    "data",
    [
        {"period": "May 2024"},
        {"period": "2024-13"},
        {"period": "2024-05", "format": "pdf"},
        {"period": "2024-05", "warehouse_busy": -1},
        {"period": "2024-05", "pages": 3},
        {},
    ],
)
def test_a_request_that_does_not_fit_the_model_is_refused(data):
    with pytest.raises(ValidationError):
        ReportRequest.model_validate(data)


# -- on the bridge and workers ------------------------------------------------------------
def test_a_busy_warehouse_is_retried_until_the_report_is_ready(eventfn):
    event_id = eventfn.send(
        generate_sales_report, {"period": "2024-05", "warehouse_busy": 2}, subject="report/2024-05"
    )
    (done,) = eventfn.wait_for("sales-report", timeout=WAIT)
    assert done.outcome == "ok"
    assert done.attempts == 3
    assert done.event.get_id() == event_id
    assert done.event.get_type() == "eventfn.invoke.sales-report"
    assert done.result["type"] == REPORT_READY
    assert done.result["data"]["attempts"] == 3
    assert done.result["data"]["format"] == "csv"
    tries = [a for a in eventfn.attempts() if a.function == "sales-report"]
    assert [a.outcome for a in tries] == ["retried", "retried", "done"]
    (reply,) = [r for r in eventfn.replies if r.get_type() == REPORT_READY]
    assert reply.get_subject() == "report/2024-05"
    assert reply.get_source() == "eventfn://functions/sales-report"


def test_handler_send_puts_the_job_on_its_queue(eventfn):
    event_id = generate_sales_report.send({"period": "2024-06", "format": "json"})
    (done,) = eventfn.wait_for("sales-report", timeout=WAIT)
    assert done.event.get_id() == event_id
    assert done.outcome == "ok"
    assert done.attempts == 1
    assert done.result["data"]["url"].endswith("sales-2024-06.json")


def test_a_warehouse_busy_for_longer_than_the_retries_dead_letters_the_job(eventfn):
    eventfn.send("sales-report", {"period": "2024-07", "warehouse_busy": 10})
    (failed,) = eventfn.wait_for("sales-report", timeout=WAIT)
    assert failed.outcome == "dead_lettered"
    assert failed.attempts == 5
    (letter,) = eventfn.wait_for_dead_letters("sales-report", timeout=WAIT)
    assert letter.attempts == 5
    assert letter.error_type == "functions.reports.WarehouseBusy"
    assert letter.event.get_data() == {"period": "2024-07", "warehouse_busy": 10}


def test_invalid_data_is_dead_lettered_before_the_handler_runs(eventfn):
    eventfn.send("sales-report", {"period": "May 2024"})
    (refused,) = eventfn.wait_for("sales-report", timeout=WAIT)
    assert refused.outcome == "dead_lettered"
    assert refused.attempts == 1  # invalid data is permanent: no retry
    (letter,) = eventfn.wait_for_dead_letters("sales-report", timeout=WAIT)
    assert letter.error_type.endswith("InvalidEventData")
    assert "period" in letter.error_message
    assert not [r for r in eventfn.replies if r.get_type() == REPORT_READY]
