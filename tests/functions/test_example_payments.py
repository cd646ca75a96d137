"""``payment-capture`` (functions/payments.py): the dead-letter paths.

A declined card is a PermanentError (dead-lettered after one attempt); an
unavailable gateway is a RetryableError, retried until ``max_attempts`` (3) and
then dead-lettered. The harness runs retries without their backoff delays.
"""

from __future__ import annotations

import pytest

from broker_bridge.event import new_event
from functions.events import INVOICE_ISSUED, ORDER_CREATED, PAYMENT_CAPTURED
from functions.payments import (
    DECLINED_CARD,
    UNAVAILABLE_CARD,
    GatewayUnavailable,
    PaymentDeclined,
    capture_payment,
    charge,
)
from worker_runtime import PermanentError, RetryableError

pytestmark = pytest.mark.eventfn_functions("functions")

WAIT = 120.0
SHOP = "https://shop.example.com/checkout"


def invoice(payment, number="INV-5"):
    return {
        "number": number,
        "order_id": 5,
        "currency": "EUR",
        "total": "42.00",
        "vat": "7.00",
        "payment": payment,
    }


def issued(payment):
    return new_event({"type": INVOICE_ISSUED, "source": "/test"}, invoice(payment))


# -- the demo gateway and the handler, called directly ------------------------------------
def test_the_gateway_charges_a_card_and_the_payment_id_is_stable():
    first = charge("tok_visa", 4200, "EUR", "INV-5")
    assert first.startswith("pay-")
    assert charge("tok_visa", 4200, "EUR", "INV-5") == first
    assert charge("tok_visa", 4200, "EUR", "INV-6") != first


def test_a_declined_card_is_permanent_and_an_unavailable_gateway_retryable():
    with pytest.raises(PaymentDeclined, match="card declined for INV-5") as declined:
        charge(DECLINED_CARD, 4200, "EUR", "INV-5")
    assert isinstance(declined.value, PermanentError)
    with pytest.raises(GatewayUnavailable) as unavailable:
        charge(UNAVAILABLE_CARD, 4200, "EUR", "INV-5")
    assert isinstance(unavailable.value, RetryableError)
    assert not isinstance(unavailable.value, PermanentError)


def test_capture_replies_a_captured_payment_or_nothing_for_a_bank_transfer():
    reply = capture_payment(issued("tok_visa"))
    assert reply is not None
    assert reply["type"] == PAYMENT_CAPTURED
    assert reply["data"]["amount"] == "42.00"
    assert reply["data"]["invoice"] == "INV-5"
    assert capture_payment(issued("invoice")) is None


# -- on the bridge and workers ------------------------------------------------------------
def test_a_declined_card_is_dead_lettered_after_one_attempt(eventfn):
    order = {"id": 1004, "total": 15, "payment": DECLINED_CARD}
    eventfn.publish({"type": ORDER_CREATED, "source": SHOP, "id": "order-1004", "data": order})
    (payment,) = eventfn.wait_for("payment-capture", timeout=WAIT)
    assert payment.outcome == "dead_lettered"
    assert payment.attempts == 1
    assert payment.error_type == "functions.payments.PaymentDeclined"
    (letter,) = eventfn.wait_for_dead_letters("payment-capture", timeout=WAIT)
    assert letter.attempts == 1
    assert letter.error_type == "functions.payments.PaymentDeclined"
    assert letter.error_message == "card declined for INV-1004 (1500 EUR cents)"
    # the dead letter is the invoice event as delivered, from order-invoicing
    assert letter.event.get_type() == INVOICE_ISSUED
    assert letter.event.get_source() == "eventfn://functions/order-invoicing"
    assert letter.event.get_id() == payment.event.get_id()
    assert letter.event.get_data()["payment"] == DECLINED_CARD
    assert not [r for r in eventfn.replies if r.get_type() == PAYMENT_CAPTURED]


def test_an_unavailable_gateway_is_retried_then_dead_lettered(eventfn):
    event_id = eventfn.send("payment-capture", invoice(UNAVAILABLE_CARD, "INV-1005"))
    (payment,) = eventfn.wait_for("payment-capture", timeout=WAIT)
    assert payment.outcome == "dead_lettered"
    assert payment.attempts == 3  # max_attempts counts every call, the first included
    assert payment.event.get_id() == event_id
    tries = [a for a in eventfn.attempts() if a.function == "payment-capture"]
    assert [(a.attempt, a.outcome) for a in tries] == [
        (1, "retried"),
        (2, "retried"),
        (3, "dead_lettered"),
    ]
    (letter,) = eventfn.wait_for_dead_letters("payment-capture", timeout=WAIT)
    assert letter.attempts == 3
    assert letter.error_type == "functions.payments.GatewayUnavailable"
    assert letter.error_message == "payment gateway unavailable while charging INV-1005"
    assert letter.event.get_id() == event_id
    assert "GatewayUnavailable" in letter.traceback
