"""What the example functions share: event types, reply building, bound loggers.

Every example logs through :func:`event_log`, which binds the event's id, type and
source and the function's name (inside a worker the runtime binds them too; binding
them here keeps the fields when a handler is called directly, e.g. in a unit test).
Replies are plain mappings of attributes plus ``data``: the runtime fills in
``source`` (``eventfn://functions/NAME``), ``id`` and the trace context.
"""

from __future__ import annotations

import json
from typing import Any, Final, TypeVar

import structlog
from cloudevents.core.base import BaseCloudEvent
from pydantic import BaseModel
from structlog.typing import FilteringBoundLogger

__all__ = [
    "INVOICE_ISSUED",
    "NOTIFICATION_SENT",
    "ORDER_CREATED",
    "ORDER_REVIEW_REQUESTED",
    "ORDER_VALIDATED",
    "PAYMENT_CAPTURED",
    "REPORT_READY",
    "event_log",
    "json_data",
    "model_data",
    "reply",
]

ORDER_CREATED: Final = "com.example.order.created"
ORDER_VALIDATED: Final = "com.example.order.validated"
ORDER_REVIEW_REQUESTED: Final = "com.example.order.review.requested"
INVOICE_ISSUED: Final = "com.example.invoice.issued"
PAYMENT_CAPTURED: Final = "com.example.payment.captured"
NOTIFICATION_SENT: Final = "com.example.notification.sent"
REPORT_READY: Final = "com.example.report.ready"

M = TypeVar("M", bound=BaseModel)

_log: FilteringBoundLogger = structlog.get_logger("functions")


def event_log(event: BaseCloudEvent, function: str) -> FilteringBoundLogger:
    """A logger bound to ``event`` (id, type, source) and the ``function`` handling it."""
    return _log.bind(
        event_id=event.get_id(),
        event_type=event.get_type(),
        event_source=event.get_source(),
        function=function,
    )


def json_data(event: BaseCloudEvent) -> Any:
    """The event's data as a JSON value (text and bytes data are parsed as JSON).

    Raises ``ValueError`` when text or bytes data is not JSON.
    """
    data = event.get_data()
    if isinstance(data, str | bytes):
        return json.loads(data)
    return data


def model_data(event: BaseCloudEvent, model: type[M]) -> M:
    """The data of an event of a ``data_model=model`` function, as a ``model``.

    The runtime has validated it already; called directly (a unit test, a script)
    with raw JSON data, the handler validates it here.
    """
    data = event.get_data()
    if isinstance(data, model):
        return data
    if isinstance(data, str | bytes):
        return model.model_validate_json(data)
    return model.model_validate(data)


def reply(
    type_: str, data: Any, *, subject: str | None = None, **extensions: str | int | bool
) -> dict[str, Any]:
    """A reply event (a mapping the runtime publishes back to the bridge)."""
    event: dict[str, Any] = {
        "type": type_,
        "datacontenttype": "application/json",
        "data": data,
        **extensions,
    }
    if subject is not None:
        event["subject"] = subject
    return event
