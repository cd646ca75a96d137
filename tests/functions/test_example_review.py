"""``order-review`` (functions/review.py): a CESQL subscription on an extension."""

from __future__ import annotations

import pytest

from broker_bridge.event import new_event
from broker_bridge.filters import compile_filter
from functions.events import ORDER_CREATED, ORDER_REVIEW_REQUESTED, ORDER_VALIDATED
from functions.review import HIGH_VALUE_FILTER, request_review

pytestmark = pytest.mark.eventfn_functions("functions")

WAIT = 120.0
SHOP = "https://shop.example.com/checkout"
BASE = {"specversion": "1.0", "id": "1", "source": "/test", "type": ORDER_VALIDATED}


@pytest.mark.parametrize(
    ("attributes", "matches"),
    [
        ({"totalcents": 100_000}, True),
        ({"totalcents": 240_000}, True),
        ({"totalcents": "250000"}, True),  # binary-mode headers carry strings
        ({"totalcents": 99_999}, False),
        ({}, False),  # missing attribute: an evaluation error fails the filter
        ({"totalcents": "a lot"}, False),  # cast error
        ({"totalcents": 500_000, "type": ORDER_CREATED}, False),
    ],
)
def test_the_subscription_picks_validated_orders_of_1000_or_more(attributes, matches):
    subscription = compile_filter({"sql": HIGH_VALUE_FILTER})
    assert subscription.matches({**BASE, **attributes}) is matches


def test_the_review_request_names_the_order_and_the_reason():
    event = new_event(
        {"type": ORDER_VALIDATED, "source": "/test", "totalcents": 240000},
        {"id": 1002, "total": "2400.00", "currency": "GBP"},
    )
    reply = request_review(event)
    assert reply["type"] == ORDER_REVIEW_REQUESTED
    assert reply["subject"] == "order/1002"
    assert reply["data"] == {
        "order_id": 1002,
        "total": "2400.00",
        "currency": "GBP",
        "reason": "total at or above 1000.00",
    }


def test_only_the_high_value_order_reaches_the_review(eventfn):
    for id_, total in ((3001, 999.99), (3002, 2400)):
        eventfn.publish(
            {
                "type": ORDER_CREATED,
                "source": SHOP,
                "id": f"order-{id_}",
                "data": {"id": id_, "total": total},
            }
        )
    # both are validated and invoiced; the review's queue gets only the big one
    invoiced = eventfn.wait_for("order-invoicing", count=2, timeout=WAIT)
    assert sorted(h.event.get_data()["id"] for h in invoiced) == [3001, 3002]
    (reviewed,) = eventfn.wait_for("order-review", timeout=WAIT)
    assert reviewed.outcome == "ok"
    assert reviewed.event.get_extension("totalcents") == 240000
    assert reviewed.result["data"]["order_id"] == 3002
    # the small order was validated (and so routed) first: had the filter let it
    # through, it would have been the review's first event
    validated = [r for r in eventfn.replies if r.get_type() == ORDER_VALIDATED]
    assert [r.get_extension("totalcents") for r in validated] == [99999, 240000]
    assert [h.event.get_data()["id"] for h in eventfn.handled("order-review")] == [3002]
