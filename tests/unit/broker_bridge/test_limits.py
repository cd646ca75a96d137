"""Message limits: the exact AMQP header size, the quick bound, event budgets, fitting."""

from __future__ import annotations

import pytest
from amqp.basic_message import Message

from broker_bridge.limits import (
    HEADER_FRAME_OVERHEAD,
    HEADER_RESERVE,
    EventTooLarge,
    MessageLimits,
    MessageTooLarge,
    check_attributes,
    check_message,
    fit_headers,
    properties_size,
)
from broker_bridge.taskmessage import build_task_message

LIMITS = MessageLimits()


def _attributes(**extra: str) -> dict[str, str]:
    return {"specversion": "1.0", "id": "e-1", "source": "/s", "type": "t", **extra}


def test_properties_size_is_what_py_amqp_writes() -> None:
    headers = {"a": "é" * 10, "n": 3, "flag": True, "none": None, "list": [None, 1, "x"]}
    message = Message(b"", content_type="application/json", application_headers=headers)
    assert properties_size(headers, None, "application/json") == len(
        message._serialize_properties()
    )


def test_limits_follow_the_frame() -> None:
    limits = MessageLimits(frame_max=4096 * 8, max_message=1000)
    assert limits.max_properties == 4096 * 8 - HEADER_FRAME_OVERHEAD
    assert limits.attribute_budget == 4096 * 8 - HEADER_FRAME_OVERHEAD - HEADER_RESERVE


def test_a_task_message_passes_cheaply_and_a_long_id_stays_out_of_its_headers() -> None:
    task = build_task_message("fn", '{"id": "x"}', "/s", "x" * 200_000)
    check_message(LIMITS, task.body, task.headers, task.properties, task.content_type)
    assert properties_size(task.headers, task.properties) < 2048


def test_headers_over_the_frame_are_refused_exactly_at_the_boundary() -> None:
    headers = {"big": ""}
    base = properties_size(headers)
    headers["big"] = "b" * (LIMITS.max_properties - base)
    assert properties_size(headers) == LIMITS.max_properties
    check_message(LIMITS, b"", headers)
    headers["big"] += "b"
    with pytest.raises(MessageTooLarge) as info:
        check_message(LIMITS, b"", headers)
    assert info.value.part == "headers"
    assert info.value.limit == LIMITS.max_properties
    assert "frame_max 131072" in str(info.value)


def test_a_body_over_the_max_message_size_is_refused() -> None:
    limits = MessageLimits(max_message=10)
    check_message(limits, b"x" * 10, None)
    with pytest.raises(MessageTooLarge) as info:
        check_message(limits, b"x" * 11, None)
    assert (info.value.part, info.value.size, info.value.limit) == ("body", 11, 10)


def test_an_event_over_the_budget_names_its_largest_attribute() -> None:
    check_attributes(LIMITS, _attributes(small="s" * 1000))
    with pytest.raises(EventTooLarge) as info:
        check_attributes(LIMITS, _attributes(id="i" * 200_000))
    assert info.value.attribute == "id"
    assert info.value.limit == LIMITS.attribute_budget
    assert "'id' is 200000 bytes" in str(info.value)


def test_the_budget_counts_encoded_bytes_not_characters() -> None:
    # 40k characters of 3 bytes each: 120 KB encoded, over the ~114 KB budget
    with pytest.raises(EventTooLarge) as info:
        check_attributes(LIMITS, _attributes(ext="€" * 40_000))
    assert info.value.attribute == "ext"


def test_fit_headers_drops_the_bulk_and_says_so() -> None:
    headers = {
        "ce-bulk": "b" * LIMITS.max_properties,
        "ce-id": "e-1",
        "eventfnerror": "why",
        "eventfnerrortype": "Err",
    }
    fitted = fit_headers(headers, LIMITS, keep=("eventfnerror", "eventfnerrortype"))
    assert "ce-bulk" not in fitted
    assert fitted["ce-id"] == "e-1"
    assert fitted["eventfnerror"] == "why"
    assert "ce-bulk" in fitted["eventfndroppedheaders"]
    assert properties_size(fitted) <= LIMITS.max_properties


def test_fit_headers_keeps_headers_that_fit() -> None:
    headers = {"ce-id": "e-1", "eventfnerror": "why"}
    assert fit_headers(headers, LIMITS) == headers
