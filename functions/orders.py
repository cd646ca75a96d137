"""Order events: log every ``com.example.order.created`` event."""

from __future__ import annotations

import structlog
from cloudevents.core.base import BaseCloudEvent

from worker_runtime import function

log = structlog.get_logger("functions.orders")


@function("order-logger", subscribe=[{"exact": {"type": "com.example.order.created"}}])
def log_order(event: BaseCloudEvent) -> None:
    """Log the order's id and total."""
    data = event.get_data()
    order = data if isinstance(data, dict) else {}
    log.info(
        "order received",
        event_id=event.get_id(),
        event_type=event.get_type(),
        event_source=event.get_source(),
        function="order-logger",
        order_id=order.get("id"),
        total=order.get("total"),
    )
