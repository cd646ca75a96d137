"""One test (or a few) per SDK gap closed, plus interoperability with the bare SDK."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from ce_conformance_support import assert_same, over_amqp_wire
from cloudevents.core.bindings import http as sdk_http
from cloudevents.core.bindings import rabbitmq as sdk_rabbitmq
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from broker_bridge.bindings import amqp, http
from broker_bridge.event import JSON_NULL, StrictCloudEvent, check_event, has_data, new_event
from broker_bridge.formats import batch
from broker_bridge.formats.json import from_json, to_json
from broker_bridge.invalid import InvalidEventError

MINIMAL = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t"}
HEADERS = {"ce-" + key: value for key, value in MINIMAL.items()}


# -- a received event never gains attributes ---------------------------------------


@pytest.mark.parametrize(
    "read",
    [
        lambda: from_json(json.dumps(MINIMAL)),
        lambda: http.from_http(HEADERS, b""),
        lambda: amqp.from_amqp(b"", {**HEADERS}, None),
        lambda: batch.from_batch(json.dumps([MINIMAL]))[0],
    ],
    ids=["json", "http-binary", "amqp-binary", "batch"],
)
def test_received_events_gain_no_attributes(read):
    event = read()
    assert event.get_attributes() == MINIMAL
    assert not has_data(event)


def test_new_event_fills_id_and_specversion_but_not_time():
    event = new_event({"type": "t", "source": "/s"})
    assert set(event.get_attributes()) == {"type", "source", "id", "specversion"}
    assert event.get_specversion() == "1.0"


def test_null_attributes_are_unset():
    event = from_json(json.dumps({**MINIMAL, "subject": None, "ext": None, "time": None}))
    assert event.get_attributes() == MINIMAL


# -- data: null is not "no data" ---------------------------------------------------


@pytest.mark.parametrize("content_type", [None, "application/json"])
def test_json_null_data_differs_from_no_data_on_every_binding(content_type):
    extra = {"datacontenttype": content_type} if content_type else {}
    null = new_event({**MINIMAL, **extra}, JSON_NULL)
    empty = new_event({**MINIMAL, **extra})
    assert json.loads(to_json(null))["data"] is None
    assert "data" not in json.loads(to_json(empty))
    assert http.to_binary(null).body == b"null"
    assert http.to_binary(empty).body == b""
    for event, expected in ((null, True), (empty, False)):
        for message in (http.to_binary(event), http.to_structured(event)):
            got = http.from_http(message.headers, message.body)
            assert got.has_data is expected
            assert got.get_data() is None
        message = amqp.to_binary(event)
        assert (
            amqp.from_amqp(message.body, message.headers, message.content_type).has_data is expected
        )


# -- canonical encodings -----------------------------------------------------------


def test_binary_modes_write_canonical_booleans_integers_and_time():
    when = datetime(2018, 4, 5, 3, 56, 24, tzinfo=UTC)
    event = new_event({**MINIMAL, "flag": False, "n": -3, "time": when})
    headers = http.to_binary(event).headers
    assert (headers["ce-flag"], headers["ce-n"], headers["ce-time"]) == (
        "false",
        "-3",
        "2018-04-05T03:56:24Z",
    )
    amqp_headers = amqp.to_binary(event).headers
    assert amqp_headers["ce-flag"] is False
    assert amqp_headers["ce-n"] == -3
    assert amqp_headers["ce-time"] == "2018-04-05T03:56:24Z"


def test_json_string_data_is_written_as_json_in_binary_mode():
    event = new_event({**MINIMAL, "datacontenttype": "application/json"}, "Hello")
    message = http.to_binary(event)
    assert message.body == b'"Hello"'
    assert http.from_http(message.headers, message.body).get_data() == "Hello"


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "text/json", "application/vnd.api+json", "foo/bar+json; x=1"],
)
def test_json_media_types(content_type):
    event = http.from_http({**HEADERS, "content-type": content_type}, b'{"a": 1}')
    assert event.get_data() == {"a": 1}


def test_non_json_data_is_written_as_a_json_value_not_python_repr():
    event = new_event({**MINIMAL, "datacontenttype": "text/plain"}, {"a": 1})
    assert json.loads(to_json(event))["data"] == {"a": 1}


# -- HTTP header values ------------------------------------------------------------


def test_header_values_are_percent_encoded_and_decoded():
    event = new_event({**MINIMAL, "subject": 'café "50%" off'})
    message = http.to_binary(event)
    assert message.headers["ce-subject"] == "caf%C3%A9%20%2250%25%22%20off"
    assert http.from_http(message.headers, b"").get_subject() == 'café "50%" off'


def test_quoted_header_values_are_unescaped():
    event = http.from_http({**HEADERS, "ce-subject": ' "a \\"quoted\\" %41" '}, b"")
    assert event.get_subject() == 'a "quoted" A'


def test_raw_non_ascii_header_values_are_read_as_their_utf8_bytes():
    raw = "café".encode().decode("latin-1")  # what WSGI / ASGI frameworks hand over
    assert http.from_http({**HEADERS, "ce-subject": raw}, b"").get_subject() == "café"
    assert http.from_http({**HEADERS, "ce-subject": "café".encode()}, b"").get_subject() == "café"


def test_mode_is_chosen_by_content_type():
    structured = http.to_structured(new_event(MINIMAL))
    # ce- headers next to a structured content type do not make it binary
    event = http.from_http({**structured.headers, "ce-id": "other"}, structured.body)
    assert event.get_id() == "1"
    assert http.content_mode({"Content-Type": "application/cloudevents-batch+json"}) == "batch"
    assert (
        http.content_mode({"Content-Type": "Application/CloudEvents+JSON; charset=UTF-8"})
        == "structured"
    )
    assert http.content_mode({}) == "binary"


def test_http_batch_mode():
    events = [new_event(MINIMAL, {"n": n}) for n in range(3)]
    message = http.to_batch(events)
    assert message.headers["content-type"] == "application/cloudevents-batch+json"
    got = http.from_http_events(message.headers, message.body)
    for a, b in zip(got, events, strict=True):
        assert_same(a, b)
    assert (
        http.from_http_events({"content-type": "application/cloudevents-batch+json"}, b"[]") == []
    )


# -- AMQP header normalisation -----------------------------------------------------


def test_amqp_headers_from_py_amqp_are_normalised():
    wire = over_amqp_wire(
        {
            "ce-specversion": "1.0",
            "ce-id": b"\xc3\xa9",  # py-amqp hands back bytes for a byte array
            "ce-source": "/s",
            "ce-type": "t",
            "ce-time": datetime(2020, 1, 2, 3, 4, 5),  # AMQP timestamp: naive, UTC
            "ce-stamp": datetime(2020, 1, 2, 3, 4, 5),
            "ce-flag": True,
            "ce-count": 7,
            "ce-gone": None,
            "x-death": [{"count": 1}],  # not ours: ignored
        }
    )
    event = amqp.from_amqp(b"", wire, None)
    assert event.get_id() == "é"
    assert event.get_time() == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert event.get_extension("stamp") == "2020-01-02T03:04:05Z"
    assert event.get_extension("flag") is True
    assert event.get_extension("count") == 7
    assert "gone" not in event.get_attributes()


def test_amqp_header_names_may_be_bytes_and_any_case():
    headers = {b"CE-SPECVERSION": "1.0", "Ce-Id": "1", "ce-source": "/s", "ce-type": "t"}
    assert amqp.from_amqp(b"", headers, None).get_attributes() == MINIMAL


def test_kombu_raw_content_type_means_no_datacontenttype():
    event = amqp.from_amqp(b'{"a": 1}', dict(HEADERS), amqp.KOMBU_RAW_CONTENT_TYPE)
    assert "datacontenttype" not in event.get_attributes()
    assert event.get_data() == {"a": 1}


# -- 0.3 is converted --------------------------------------------------------------


def test_v03_structured_event_is_converted():
    body = json.dumps(
        {
            "specversion": "0.3",
            "id": "1",
            "source": "/s",
            "type": "t",
            "schemaurl": "https://example.com/schema",
            "datacontentencoding": "base64",
            "data": "aGk=",
        }
    )
    event = from_json(body)
    assert event.get_attributes() == {**MINIMAL, "dataschema": "https://example.com/schema"}
    assert event.get_data() == b"hi"


def test_v03_binary_event_is_converted():
    event = http.from_http(
        {**HEADERS, "ce-specversion": "0.3", "content-type": "text/plain"}, b"hi"
    )
    assert event.get_specversion() == "1.0"
    assert event.get_data() == "hi"


# -- creation and SDK events -------------------------------------------------------


def test_new_event_normalises_binary_and_timestamp_extensions():
    when = datetime(2020, 1, 1, tzinfo=timezone(timedelta(hours=2)))
    event = new_event({**MINIMAL, "blob": b"\x00\x01", "when": when})
    assert event.get_extension("blob") == "AAE="
    assert event.get_extension("when") == "2020-01-01T00:00:00+02:00"


def test_new_event_refuses_invalid_attributes():
    with pytest.raises(InvalidEventError) as caught:
        new_event({"type": "t", "source": "/s", "ext": {"a": 1}, "time": datetime(2020, 1, 1)})
    assert set(caught.value.problems) == {"ext", "time"}


def test_writers_check_sdk_events():
    bad = CloudEvent({"type": "t", "source": "/s", "ext": {"a": 1}})
    for write in (
        to_json,
        http.to_binary,
        http.to_structured,
        amqp.to_binary,
        lambda e: batch.to_batch([e]),
    ):
        with pytest.raises(InvalidEventError):
            write(bad)


def test_sdk_events_are_accepted_by_our_writers():
    sdk_event = CloudEvent(
        {"type": "t", "source": "/s", "datacontenttype": "application/json"}, {"a": 1}
    )
    strict = check_event(sdk_event)
    assert isinstance(strict, StrictCloudEvent)
    assert_same(from_json(to_json(sdk_event)), strict)


def test_what_the_sdk_writes_we_read():
    sdk_event = CloudEvent(
        {"type": "t", "source": "/s", "flag": "x", "datacontenttype": "application/json"}, {"a": 1}
    )
    ours = check_event(sdk_event)
    assert_same(from_json(JSONFormat().write(sdk_event)), ours)
    message = sdk_http.to_binary(sdk_event, JSONFormat())
    assert_same(http.from_http(message.headers, message.body), ours)
    rabbit = sdk_rabbitmq.to_binary(sdk_event, JSONFormat())
    assert_same(amqp.from_amqp(rabbit.body, rabbit.headers, rabbit.content_type), ours)


def test_what_we_write_the_sdk_reads():
    event = new_event(
        {
            **MINIMAL,
            "time": datetime(2020, 1, 1, tzinfo=UTC),
            "datacontenttype": "application/json",
        },
        {"a": 1},
    )
    for read in (
        lambda: JSONFormat().read(CloudEvent, to_json(event)),
        lambda: sdk_http.from_http(http.to_binary(event), JSONFormat(), CloudEvent),
        lambda: sdk_http.from_http(http.to_structured(event), JSONFormat(), CloudEvent),
    ):
        sdk_event = read()
        assert sdk_event.get_attributes() == event.get_attributes()
        assert sdk_event.get_data() == {"a": 1}


# -- public surface ----------------------------------------------------------------


@pytest.mark.parametrize(
    "module",
    [
        "broker_bridge.event",
        "broker_bridge.invalid",
        "broker_bridge.formats.json",
        "broker_bridge.formats.batch",
        "broker_bridge.bindings.http",
        "broker_bridge.bindings.amqp",
    ],
)
def test_public_names_exist_and_are_documented(module):
    loaded = importlib.import_module(module)
    assert loaded.__doc__
    for name in loaded.__all__:
        assert hasattr(loaded, name), name
