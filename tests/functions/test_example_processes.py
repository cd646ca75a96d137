"""The examples on real ``eventfn bridge`` and ``eventfn worker`` subprocesses
(``eventfn_processes``): the order pipeline end to end, and a background job whose
retry waits out its real backoff delay."""

from __future__ import annotations

import pytest

from functions.events import NOTIFICATION_SENT, ORDER_CREATED, PAYMENT_CAPTURED, REPORT_READY

pytestmark = [pytest.mark.e2e, pytest.mark.eventfn_functions("functions")]

WAIT = 300.0  # seven worker processes share two busy cores


def test_an_order_and_a_report_through_real_processes(eventfn_processes):
    fn = eventfn_processes
    order = {"id": 4001, "total": 2400, "customer": "ada@example.com", "payment": "tok_visa"}
    fn.publish({"type": ORDER_CREATED, "source": "/shop", "id": "order-4001", "data": order})
    fn.send("sales-report", {"period": "2024-08", "warehouse_busy": 1})

    (captured,) = fn.wait_for("payment-capture", timeout=WAIT)
    assert captured.outcome == "ok"
    assert captured.result["type"] == PAYMENT_CAPTURED
    assert captured.result["data"]["amount"] == "2400.00"
    (notified,) = fn.wait_for("shipping-notifier", timeout=WAIT)  # the async handler
    assert notified.result["type"] == NOTIFICATION_SENT
    (reviewed,) = fn.wait_for("order-review", timeout=WAIT)  # the CESQL subscription
    assert reviewed.event.get_extension("totalcents") == 240000
    (logged,) = fn.wait_for("order-logger", timeout=WAIT)
    assert logged.event.get_id() == "order-4001"

    (report,) = fn.wait_for("sales-report", timeout=WAIT)
    assert report.outcome == "ok"
    assert report.attempts == 2
    assert report.result["type"] == REPORT_READY
