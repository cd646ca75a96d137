"""``order-review``: a CESQL subscription that picks out high-value orders.

The bridge evaluates the subscription's ``sql`` filter against each event's
*attributes* (context attributes and extensions, never the data), so the order's
total must travel as an attribute: ``order-validator`` sets the ``totalcents``
extension on every ``com.example.order.validated`` it replies. Orders of 1000.00
or more (100000 cents) are routed here too, next to invoicing and shipping;
smaller ones never reach this function's queue.

An event without ``totalcents``, or whose value is not a number, does not match
(CESQL evaluation errors fail the filter) rather than breaking routing.
"""

from __future__ import annotations

from typing import Any, Final

from cloudevents.core.base import BaseCloudEvent

from functions.events import ORDER_REVIEW_REQUESTED, ORDER_VALIDATED, event_log, model_data, reply
from functions.models import Order
from worker_runtime import function

__all__ = ["HIGH_VALUE_CENTS", "HIGH_VALUE_FILTER", "request_review"]

HIGH_VALUE_CENTS: Final = 100_000
HIGH_VALUE_FILTER: Final = f"type = '{ORDER_VALIDATED}' AND INT(totalcents) >= {HIGH_VALUE_CENTS}"


@function("order-review", subscribe=[{"sql": HIGH_VALUE_FILTER}], data_model=Order)
def request_review(event: BaseCloudEvent) -> dict[str, Any]:
    """Hold a high-value order for a manual fraud review."""
    order = model_data(event, Order)
    event_log(event, "order-review").warning(
        "high-value order held for review",
        order_id=order.id,
        total=str(order.total),
        currency=order.currency,
    )
    return reply(
        ORDER_REVIEW_REQUESTED,
        {
            "order_id": order.id,
            "total": str(order.total),
            "currency": order.currency,
            "reason": f"total at or above {HIGH_VALUE_CENTS // 100}.00",
        },
        subject=f"order/{order.id}",
    )
