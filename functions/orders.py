"""The head of the order pipeline: log and validate ``com.example.order.created``.

::

    com.example.order.created ──┬─> order-logger       (logs it)
                                └─> order-validator    invalid: PermanentError -> its DLQ
                                       │ reply
                                       v
    com.example.order.validated ──┬─> order-invoicing    (functions.fulfilment)
      (extension totalcents)      ├─> shipping-notifier  (functions.fulfilment, async)
                                  └─> order-review       (functions.review, CESQL filter)

``order-validator`` shows a handler that *replies*: the event it returns is
published back to the bridge, which routes it to every subscriber of
``com.example.order.validated`` (fan-out). An order that can never be valid is
refused with :class:`~worker_runtime.PermanentError`: it goes to the validator's
dead-letter queue at once, without retries (``eventfn dlq list order-validator``).
"""

from __future__ import annotations

from typing import Any

from cloudevents.core.base import BaseCloudEvent
from pydantic import ValidationError

from functions.events import ORDER_CREATED, ORDER_VALIDATED, event_log, json_data, reply
from functions.models import Order
from worker_runtime import PermanentError, function

__all__ = ["InvalidOrder", "log_order", "validate", "validate_order", "validated_event"]


class InvalidOrder(PermanentError):
    """The order can never be accepted: retrying would not help."""


@function("order-logger", subscribe=[{"exact": {"type": ORDER_CREATED}}])
def log_order(event: BaseCloudEvent) -> None:
    """Log the order's id and total (whatever its shape: this one never fails)."""
    data = event.get_data()
    order = data if isinstance(data, dict) else {}
    event_log(event, "order-logger").info(
        "order received", order_id=order.get("id"), total=order.get("total")
    )


def validate_order(data: Any) -> Order:
    """``data`` as an :class:`Order`, or :class:`InvalidOrder` saying every problem."""
    if not isinstance(data, dict):
        raise InvalidOrder(f"an order is a JSON object, not {type(data).__name__}")
    try:
        order = Order.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'order'}: {error['msg']}"
            for error in exc.errors()
        )
        raise InvalidOrder(f"invalid order: {problems}") from None
    if order.items and order.items_total() != order.total:
        raise InvalidOrder(
            f"order {order.id}: total {order.total} does not match its items "
            f"({order.items_total()})"
        )
    return order


def validated_event(order: Order) -> dict[str, Any]:
    """The ``com.example.order.validated`` reply for ``order``.

    The total travels in the ``totalcents`` extension as well: subscription filters
    (CESQL included) see attributes only, never the data.
    """
    return reply(
        ORDER_VALIDATED,
        order.model_dump(mode="json"),
        subject=f"order/{order.id}",
        totalcents=order.total_cents,
    )


@function(
    "order-validator",
    subscribe=[{"exact": {"type": ORDER_CREATED}}],
    timeout=10.0,
)
def validate(event: BaseCloudEvent) -> dict[str, Any]:
    """Check an order; reply ``com.example.order.validated`` or dead-letter it."""
    log = event_log(event, "order-validator")
    try:
        data = json_data(event)
    except ValueError as exc:
        raise InvalidOrder(f"the order is not JSON: {exc}") from None
    try:
        order = validate_order(data)
    except InvalidOrder as exc:
        log.warning("order rejected", reason=str(exc))
        raise
    log.info("order validated", order_id=order.id, total=str(order.total), items=len(order.items))
    return validated_event(order)
