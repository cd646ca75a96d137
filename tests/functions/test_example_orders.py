"""The head of the order pipeline (functions/orders.py): order-logger, order-validator.

Unit tests call the handlers directly; the ``eventfn`` tests run them on the bridge
and workers of the pytest plugin (embedded broker, real execution path).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import structlog

from broker_bridge.event import new_event
from functions.events import ORDER_CREATED, ORDER_VALIDATED, event_log
from functions.orders import InvalidOrder, log_order, validate, validate_order
from worker_runtime import PermanentError

pytestmark = pytest.mark.eventfn_functions("functions")

WAIT = 120.0  # generous: the machine may be busy; waits return as soon as it is done
SHOP = "https://shop.example.com/checkout"


def created(data, *, id_="order-1", source=SHOP):
    return new_event({"type": ORDER_CREATED, "source": source, "id": id_}, data)


# -- validation rules ---------------------------------------------------------------------
def test_the_smallest_order_is_valid_and_money_has_two_decimals():
    order = validate_order({"id": 1, "total": 9.5})
    assert order.id == 1
    assert order.total == Decimal("9.50")
    assert str(order.total) == "9.50"
    assert order.currency == "EUR"
    assert order.payment == "invoice"
    assert order.total_cents == 950


def test_items_must_add_up_to_the_total():
    order = validate_order(
        {
            "id": "A-7",
            "total": 59.90,
            "items": [
                {"sku": "book-42", "quantity": 2, "price": 19.95},
                {"sku": "mug-7", "quantity": 1, "price": 20},
            ],
        }
    )
    assert order.items_total() == Decimal("59.90")
    with pytest.raises(InvalidOrder, match=r"total 10\.00 does not match its items \(13\.50\)"):
        validate_order(
            {"id": 1003, "total": 10, "items": [{"sku": "pen-1", "quantity": 3, "price": 4.5}]}
        )


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([1, 2], "an order is a JSON object, not list"),
        ({"id": 1}, "total: Field required"),
        ({"id": 1, "total": 0}, "total: Input should be greater than 0"),
        ({"id": 1, "total": 1.234}, "total: Decimal input should have no more than 2 decimal"),
        ({"id": 1, "total": 2_000_000}, "total: Input should be less than or equal to"),
        ({"id": 1, "total": 5, "currency": "XYZ"}, "currency: Input should be 'EUR', 'USD'"),
        ({"id": 1, "total": 5, "customer": "not-an-address"}, "customer: String should match"),
        ({"id": 1, "total": 5, "payment": "cash"}, "payment: String should match"),
        ({"id": 1, "total": 5, "coupon": "X"}, "coupon: Extra inputs are not permitted"),
        (
            {"id": 1, "total": 5, "items": [{"sku": "a", "quantity": 0, "price": 5}]},
            "items.0.quantity: Input should be greater than 0",
        ),
    ],
)
def test_an_invalid_order_is_a_permanent_error_naming_the_problem(data, problem):
    with pytest.raises(InvalidOrder) as caught:
        validate_order(data)
    assert problem in str(caught.value)
    assert isinstance(caught.value, PermanentError)


# -- the handlers, called directly --------------------------------------------------------
def test_the_validator_replies_a_validated_order_with_its_total_as_an_extension():
    reply = validate(created({"id": 1001, "total": 2400, "customer": "ada@example.com"}))
    assert reply["type"] == ORDER_VALIDATED
    assert reply["subject"] == "order/1001"
    assert reply["totalcents"] == 240000
    assert reply["datacontenttype"] == "application/json"
    assert reply["data"] == {
        "id": 1001,
        "total": "2400.00",
        "currency": "EUR",
        "customer": "ada@example.com",
        "items": [],
        "payment": "invoice",
    }
    assert "source" not in reply  # the runtime fills in eventfn://functions/order-validator
    assert "id" not in reply  # ... and an id derived from the input's (source, id)


def test_the_validator_reads_json_text_data_and_refuses_what_is_not_json():
    reply = validate(created('{"id": 2, "total": 3}'))
    assert reply["data"]["total"] == "3.00"
    with pytest.raises(InvalidOrder, match="the order is not JSON"):
        validate(created("two books please"))


def test_the_logger_never_fails_whatever_the_data():
    assert log_order(created({"id": 1, "total": 9.5})) is None
    assert log_order(created("not an object")) is None


def test_handler_logs_are_bound_to_the_event_and_the_function():
    bound = event_log(created({"id": 1, "total": 1}, id_="order-9"), "order-validator")
    assert structlog.get_context(bound) == {
        "event_id": "order-9",
        "event_type": ORDER_CREATED,
        "event_source": SHOP,
        "function": "order-validator",
    }


# -- on the bridge and workers ------------------------------------------------------------
def test_an_order_is_logged_validated_and_the_reply_published(eventfn):
    data = {"id": 1001, "total": 59.9}
    event_id = eventfn.publish(
        {"type": ORDER_CREATED, "source": SHOP, "id": "order-1001", "data": data}
    )
    (logged,) = eventfn.wait_for("order-logger", timeout=WAIT)
    (validated,) = eventfn.wait_for("order-validator", timeout=WAIT)
    assert event_id == "order-1001"
    assert logged.outcome == "ok"
    assert logged.result is None
    assert validated.outcome == "ok"
    assert validated.attempts == 1
    assert validated.event.get_id() == "order-1001"
    assert validated.result["totalcents"] == 5990
    (reply,) = [r for r in eventfn.replies if r.get_type() == ORDER_VALIDATED]
    assert reply.get_source() == "eventfn://functions/order-validator"
    assert reply.get_subject() == "order/1001"
    assert reply.get_extension("totalcents") == 5990
    assert reply.get_data()["total"] == "59.90"


def test_what_eventfn_publish_sends_in_the_readme_is_handled(eventfn):
    """``eventfn publish --type com.example.order.created --data '{"id": 1, "total": 9.5}'``"""
    eventfn.publish(
        {
            "type": ORDER_CREATED,
            "source": "eventfn/cli",
            "datacontenttype": "application/json",
            "data": {"id": 1, "total": 9.5},
        }
    )
    (logged,) = eventfn.wait_for("order-logger", timeout=WAIT)
    (validated,) = eventfn.wait_for("order-validator", timeout=WAIT)
    assert logged.outcome == validated.outcome == "ok"
    assert validated.result["data"]["total"] == "9.50"


def test_an_invalid_order_is_dead_lettered_at_once_and_replies_nothing(eventfn):
    bad = {"id": 1003, "total": 10, "items": [{"sku": "pen-1", "quantity": 3, "price": 4.5}]}
    eventfn.publish({"type": ORDER_CREATED, "source": SHOP, "id": "order-1003", "data": bad})
    (rejected,) = eventfn.wait_for("order-validator", timeout=WAIT)
    assert rejected.outcome == "dead_lettered"
    assert rejected.attempts == 1  # a PermanentError is never retried
    assert rejected.error_type == "functions.orders.InvalidOrder"
    (letter,) = eventfn.wait_for_dead_letters("order-validator", timeout=WAIT)
    assert letter.event.get_id() == "order-1003"
    assert letter.event.get_data() == bad  # the original event, unchanged
    assert letter.error_type == "functions.orders.InvalidOrder"
    assert "does not match its items" in letter.error_message
    assert letter.attempts == 1
    (logged,) = eventfn.wait_for("order-logger", timeout=WAIT)
    assert logged.outcome == "ok"  # the other subscriber is not affected
    assert not [r for r in eventfn.replies if r.get_type() == ORDER_VALIDATED]
