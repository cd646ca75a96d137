"""The fan-out of ``com.example.order.validated`` (functions/fulfilment.py):
``order-invoicing`` (sync, idempotent, typed data) and ``shipping-notifier`` (async)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from broker_bridge.event import new_event
from functions.events import INVOICE_ISSUED, NOTIFICATION_SENT, ORDER_CREATED, ORDER_VALIDATED
from functions.fulfilment import invoice_for, issue_invoice, notify_shipping
from functions.models import Order

pytestmark = pytest.mark.eventfn_functions("functions")

WAIT = 120.0
SHOP = "https://shop.example.com/checkout"


def validated(data):
    return new_event({"type": ORDER_VALIDATED, "source": "/test", "id": "v-1"}, data)


# -- called directly ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("total", "vat"),
    [(Decimal("120.00"), Decimal("20.00")), (Decimal("9.50"), Decimal("1.58"))],
)
def test_the_invoice_includes_the_vat_of_the_total(total, vat):
    invoice = invoice_for(Order(id=7, total=total, payment="tok_visa"))
    assert invoice.number == "INV-7"
    assert invoice.total == total
    assert invoice.vat == vat
    assert invoice.payment == "tok_visa"


def test_invoicing_replies_an_issued_invoice():
    reply = issue_invoice(validated({"id": 7, "total": "120.00", "customer": "ada@example.com"}))
    assert reply["type"] == INVOICE_ISSUED
    assert reply["subject"] == "invoice/INV-7"
    assert reply["totalcents"] == 12000
    assert reply["data"] == {
        "number": "INV-7",
        "order_id": 7,
        "currency": "EUR",
        "total": "120.00",
        "vat": "20.00",
        "payment": "invoice",
        "customer": "ada@example.com",
    }


def test_the_async_notifier_emails_the_customer():
    reply = asyncio.run(notify_shipping(validated({"id": 8, "total": 5, "customer": "b@x.org"})))
    assert reply is not None
    assert reply["type"] == NOTIFICATION_SENT
    assert reply["data"]["to"] == "b@x.org"
    assert reply["data"]["message_id"].startswith("msg-")


def test_the_async_notifier_has_nothing_to_do_without_a_customer():
    assert asyncio.run(notify_shipping(validated({"id": 9, "total": 5}))) is None


# -- on the bridge and workers ------------------------------------------------------------
def test_a_validated_order_fans_out_to_invoicing_and_shipping(eventfn):
    order = {"id": 1001, "total": 59.9, "customer": "ada@example.com", "payment": "tok_visa"}
    eventfn.publish({"type": ORDER_CREATED, "source": SHOP, "id": "order-1001", "data": order})
    (validator,) = eventfn.wait_for("order-validator", timeout=WAIT)
    (invoicing,) = eventfn.wait_for("order-invoicing", timeout=WAIT)
    (shipping,) = eventfn.wait_for("shipping-notifier", timeout=WAIT)
    (reply,) = [r for r in eventfn.replies if r.get_type() == ORDER_VALIDATED]
    # both got the validator's one reply, each on its own queue
    assert invoicing.event.get_id() == shipping.event.get_id() == reply.get_id()
    assert invoicing.event.get_source() == "eventfn://functions/order-validator"
    assert validator.outcome == invoicing.outcome == shipping.outcome == "ok"
    assert invoicing.result["data"]["number"] == "INV-1001"
    assert invoicing.result["data"]["total"] == "59.90"
    assert shipping.result["data"]["to"] == "ada@example.com"
    # and the invoice went on to payment-capture
    (captured,) = eventfn.wait_for("payment-capture", timeout=WAIT)
    assert captured.outcome == "ok"
    assert captured.result["data"]["invoice"] == "INV-1001"


def test_an_order_sent_twice_is_invoiced_once_but_notified_twice(eventfn):
    event = {
        "type": ORDER_CREATED,
        "source": SHOP,
        "id": "order-2002",
        "data": {"id": 2002, "total": 12, "customer": "c@x.org"},
    }
    eventfn.publish(event)
    eventfn.wait_for("order-invoicing", timeout=WAIT)
    eventfn.publish(event)  # a client retrying its request: same (source, id)
    validations = eventfn.wait_for("order-validator", count=2, timeout=WAIT)
    invoicing = eventfn.wait_for("order-invoicing", count=2, timeout=WAIT)
    shipping = eventfn.wait_for("shipping-notifier", count=2, timeout=WAIT)
    assert [h.outcome for h in validations] == ["ok", "ok"]
    # the validator's reply has the same id both times, so the idempotent
    # invoicing skips the second one; the notifier is not idempotent
    assert invoicing[0].event.get_id() == invoicing[1].event.get_id()
    assert [h.outcome for h in invoicing] == ["ok", "duplicate"]
    assert invoicing[1].result is None
    assert [h.outcome for h in shipping] == ["ok", "ok"]
    issued = [r for r in eventfn.replies if r.get_type() == INVOICE_ISSUED]
    assert len(issued) == 1
