"""``send``: the event it builds and the ``send`` attribute ``@function`` gives handlers
(the broker side is in tests/integration/worker_runtime/test_send_invoke.py)."""

from __future__ import annotations

from typing import Any

import pytest

from broker_bridge import InvalidEventError
from worker_runtime import Registry, UnknownFunction, function, send
from worker_runtime.sending import DEFAULT_SOURCE, Sender, invocation_event


def handler(event: Any) -> None:
    return None


def test_decorated_handler_is_unchanged_but_for_send(registry: Registry) -> None:
    decorated = function("resize-image")(handler)
    assert decorated is handler
    assert isinstance(decorated.send, Sender)
    assert decorated.send.function == "resize-image"
    assert "resize-image" in repr(decorated.send)


def test_the_default_event_names_the_function() -> None:
    event = invocation_event("resize-image", {"url": "u"})
    attributes = event.get_attributes()
    assert attributes["type"] == "eventfn.invoke.resize-image"
    assert attributes["source"] == DEFAULT_SOURCE == "/eventfn/invoke"
    assert attributes["datacontenttype"] == "application/json"
    assert attributes["specversion"] == "1.0"
    assert event.get_data() == {"url": "u"}
    assert invocation_event("f").get_id() != invocation_event("f").get_id()


@pytest.mark.parametrize(
    ("data", "content_type"),
    [("text", "text/plain"), (b"\x00\x01", None), (None, None), ([1], "application/json")],
)
def test_the_content_type_follows_the_data(data: Any, content_type: str | None) -> None:
    assert invocation_event("f", data).get_attributes().get("datacontenttype") == content_type


def test_attributes_override_the_defaults() -> None:
    event = invocation_event(
        "f", "x", type="com.example.t", source="/me", subject="s/1", id="id-1", tenant="acme"
    )
    attributes = event.get_attributes()
    assert (attributes["type"], attributes["source"], attributes["id"]) == (
        "com.example.t",
        "/me",
        "id-1",
    )
    assert (attributes["subject"], attributes["tenant"]) == ("s/1", "acme")


def test_an_invalid_attribute_is_refused_before_publishing() -> None:
    with pytest.raises(InvalidEventError, match="Bad"):
        invocation_event("f", None, Bad=1)


def test_send_refuses_an_unregistered_function_before_publishing(registry: Registry) -> None:
    function("known")(handler)
    with pytest.raises(UnknownFunction, match="'unknown'; known: known") as caught:
        send("unknown", {"x": 1})
    assert caught.value.name == "unknown"
    assert isinstance(caught.value, LookupError)
