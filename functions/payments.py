"""``payment-capture``: charge the card of an invoice; the dead-letter paths.

Subscribes to ``com.example.invoice.issued`` (the reply of ``order-invoicing``) and
charges the invoice's card token on the demo payment gateway below, whose test
tokens behave like a real gateway's:

* ``invoice``: pay by bank transfer, nothing to capture (no reply);
* ``tok_declined``: the card is declined. Retrying cannot help: the handler raises
  :class:`~worker_runtime.PermanentError` and the event is dead-lettered at once
  (``attempts=1``);
* ``tok_unavailable``: the gateway does not answer. A
  :class:`~worker_runtime.RetryableError` is retried with the function's backoff
  (1 s, then 2 s); after ``max_attempts`` (3) the event is dead-lettered with
  ``attempts=3``;
* any other ``tok_...``: captured; the reply is ``com.example.payment.captured``.

Dead letters stay in ``eventfn.fn.payment-capture.dlq`` until they are listed,
replayed or purged (``eventfn dlq list|replay|purge payment-capture``).
"""

from __future__ import annotations

import hashlib
from typing import Any

from cloudevents.core.base import BaseCloudEvent

from functions.events import INVOICE_ISSUED, PAYMENT_CAPTURED, event_log, model_data, reply
from functions.models import Invoice, cents
from worker_runtime import PermanentError, Retry, RetryableError, function

__all__ = [
    "DECLINED_CARD",
    "UNAVAILABLE_CARD",
    "GatewayUnavailable",
    "PaymentDeclined",
    "capture_payment",
    "charge",
]


class PaymentDeclined(PermanentError):
    """The gateway refused the card: do not retry."""


class GatewayUnavailable(RetryableError):
    """The gateway did not answer: retry later."""


#: The demo gateway's test cards (any other ``tok_...`` is charged).
DECLINED_CARD = "tok_declined"
UNAVAILABLE_CARD = "tok_unavailable"


def charge(card: str, amount_cents: int, currency: str, reference: str) -> str:
    """The demo payment gateway: a payment id, or the error its test ``card`` stands for."""
    if card == DECLINED_CARD:
        raise PaymentDeclined(f"card declined for {reference} ({amount_cents} {currency} cents)")
    if card == UNAVAILABLE_CARD:
        raise GatewayUnavailable(f"payment gateway unavailable while charging {reference}")
    digest = hashlib.sha256(f"{card}\x00{reference}".encode()).hexdigest()
    return f"pay-{digest[:16]}"


@function(
    "payment-capture",
    subscribe=[{"exact": {"type": INVOICE_ISSUED}}],
    data_model=Invoice,
    retry=Retry(max_attempts=3, backoff="exponential", delay=1.0, max_delay=10.0),
    timeout=20.0,
)
def capture_payment(event: BaseCloudEvent) -> dict[str, Any] | None:
    """Capture the invoice's card payment; reply ``com.example.payment.captured``."""
    invoice = model_data(event, Invoice)
    log = event_log(event, "payment-capture")
    if invoice.payment == "invoice":
        log.info("awaiting bank transfer; nothing to capture", invoice=invoice.number)
        return None
    amount = cents(invoice.total)
    payment_id = charge(invoice.payment, amount, invoice.currency, invoice.number)
    log.info("payment captured", invoice=invoice.number, payment_id=payment_id, cents=amount)
    return reply(
        PAYMENT_CAPTURED,
        {
            "payment_id": payment_id,
            "invoice": invoice.number,
            "order_id": invoice.order_id,
            "amount": str(invoice.total),
            "currency": invoice.currency,
        },
        subject=f"invoice/{invoice.number}",
    )
