"""Two subscribers of ``com.example.order.validated`` (fan-out): invoicing and shipping.

* ``order-invoicing`` (sync, ``idempotent=True``, ``data_model=Order``): issues one
  invoice per order and replies ``com.example.invoice.issued``. Idempotent: the same
  validated order delivered twice (a redelivery, a replayed request with the same
  id) is skipped the second time; the validator's reply ids are derived from the
  order event's (source, id), so a resent order yields the same validated event.
* ``shipping-notifier`` (``async def``): "emails" the customer that the order is
  being prepared and replies ``com.example.notification.sent``; an order without a
  customer address needs no notification (no reply).
"""

from __future__ import annotations

import asyncio
import hashlib
from decimal import Decimal
from typing import Any

from cloudevents.core.base import BaseCloudEvent

from functions.events import (
    INVOICE_ISSUED,
    NOTIFICATION_SENT,
    ORDER_VALIDATED,
    event_log,
    model_data,
    reply,
)
from functions.models import VAT_RATE, Invoice, Order
from worker_runtime import Retry, function

__all__ = ["invoice_for", "issue_invoice", "notify_shipping", "send_email"]


def invoice_for(order: Order) -> Invoice:
    """The invoice of ``order``: its number is derived from the order id (stable)."""
    vat = (order.total * VAT_RATE / (1 + VAT_RATE)).quantize(Decimal("0.01"))
    return Invoice(
        number=f"INV-{order.id}",
        order_id=order.id,
        currency=order.currency,
        total=order.total,
        vat=vat,
        payment=order.payment,
        customer=order.customer,
    )


@function(
    "order-invoicing",
    subscribe=[{"exact": {"type": ORDER_VALIDATED}}],
    data_model=Order,
    idempotent=True,
    retry=Retry(max_attempts=5, backoff="exponential", delay=1.0, max_delay=30.0),
)
def issue_invoice(event: BaseCloudEvent) -> dict[str, Any]:
    """Issue the order's invoice; reply ``com.example.invoice.issued``."""
    order = model_data(event, Order)
    invoice = invoice_for(order)
    event_log(event, "order-invoicing").info(
        "invoice issued", invoice=invoice.number, order_id=order.id, total=str(invoice.total)
    )
    return reply(
        INVOICE_ISSUED,
        invoice.model_dump(mode="json"),
        subject=f"invoice/{invoice.number}",
        totalcents=order.total_cents,
    )


async def send_email(to: str, template: str, order: Order) -> str:
    """The demo mail client: pretends to send and returns a message id."""
    await asyncio.sleep(0.01)  # an awaited network call in a real client
    digest = hashlib.sha256(f"{to}\x00{template}\x00{order.id}".encode()).hexdigest()
    return f"msg-{digest[:16]}"


@function(
    "shipping-notifier",
    subscribe=[{"exact": {"type": ORDER_VALIDATED}}],
    data_model=Order,
    timeout=10.0,
    retry=Retry(max_attempts=4, backoff="linear", delay=2.0, max_delay=10.0),
)
async def notify_shipping(event: BaseCloudEvent) -> dict[str, Any] | None:
    """Tell the customer their order is being prepared (an async handler)."""
    order = model_data(event, Order)
    log = event_log(event, "shipping-notifier")
    if order.customer is None:
        log.info("no customer address; nothing to notify", order_id=order.id)
        return None
    message_id = await send_email(order.customer, "order-preparing", order)
    log.info("customer notified", order_id=order.id, to=order.customer, message_id=message_id)
    return reply(
        NOTIFICATION_SENT,
        {
            "order_id": order.id,
            "to": order.customer,
            "channel": "email",
            "template": "order-preparing",
            "message_id": message_id,
        },
        subject=f"order/{order.id}",
    )
