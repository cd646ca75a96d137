"""Property-based tests: valid events round-trip everywhere; readers never crash.

* Any valid event round-trips through every binding and mode unchanged (in HTTP
  binary mode extension values arrive as their canonical strings, as the spec says).
* Any byte string or header map fed to a reader yields a valid event (one every
  writer accepts and that round-trips) or raises InvalidEventError: never another
  exception.
"""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from ce_conformance_support import ROUND_TRIPS, assert_same, untyped_extensions, via_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker_bridge.bindings import amqp, http
from broker_bridge.event import JSON_NULL, StrictCloudEvent, new_event
from broker_bridge.formats._attributes import _FORBIDDEN
from broker_bridge.formats.batch import from_batch
from broker_bridge.formats.json import from_json, to_json
from broker_bridge.invalid import InvalidEventError

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CORE = ["id", "source", "type", "specversion", "datacontenttype", "dataschema", "subject", "time"]

strings = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=20).filter(
    lambda s: _FORBIDDEN.search(s) is None
)
unreserved = string.ascii_letters + string.digits + "-._~"
uri_refs = st.builds(
    lambda prefix, path: prefix + path,
    st.sampled_from(["/", "https://example.com/", "urn:event:", "//host/", "mailto:a@b"]),
    st.text(st.sampled_from(unreserved + "/%20"), max_size=15).map(lambda s: s.replace("%", "%25")),
)
offsets = st.sampled_from(
    [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
)
times = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets
)
extension_names = st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True).filter(
    lambda n: n not in CORE and n != "data"
)
extension_values = st.one_of(st.booleans(), st.integers(-(2**31), 2**31 - 1), strings)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.text(st.characters(exclude_categories=("Cs",)), max_size=8), inner, max_size=4
        ),
    ),
    max_leaves=12,
).map(lambda value: JSON_NULL if value is None else value)

# datacontenttype -> the data that type carries (None: no data)
JSON_TYPES = [
    None,
    "application/json",
    "application/json; charset=utf-8",
    "text/json",
    "application/vnd.x+json",
]
TEXT_TYPES = [
    "text/plain",
    "text/plain; charset=utf-8",
    "application/xml",
    "text/csv; charset=iso-8859-1",
]
BINARY_TYPES = ["application/octet-stream", "image/png", "application/protobuf"]
text_data = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)


@st.composite
def content_and_data(draw):
    kind = draw(st.sampled_from(["json", "text", "binary", "none"]))
    if kind == "json":
        return draw(st.sampled_from(JSON_TYPES)), draw(json_values)
    if kind == "text":
        content_type = draw(st.sampled_from(TEXT_TYPES))
        alphabet = st.characters(max_codepoint=0xFF) if "8859" in content_type else st.characters()
        text = draw(st.text(alphabet.filter(lambda c: not 0xD800 <= ord(c) <= 0xDFFF), min_size=1))
        return content_type, text
    if kind == "binary":
        return draw(st.sampled_from(BINARY_TYPES)), draw(st.binary(min_size=1, max_size=40))
    return draw(st.sampled_from([None, *BINARY_TYPES, *TEXT_TYPES])), None


@st.composite
def valid_events(draw):
    attributes = {"id": draw(strings), "source": draw(uri_refs), "type": draw(strings)}
    if draw(st.booleans()):
        attributes["time"] = draw(times)
    if draw(st.booleans()):
        attributes["subject"] = draw(strings)
    if draw(st.booleans()):
        attributes["dataschema"] = "https://schemas.example/" + draw(
            st.text(unreserved, max_size=8)
        )
    content_type, data = draw(content_and_data())
    if content_type is not None:
        attributes["datacontenttype"] = content_type
    attributes.update(draw(st.dictionaries(extension_names, extension_values, max_size=4)))
    return new_event(attributes, data)


@pytest.mark.parametrize(
    ("binding", "round_trip", "typed"), ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS]
)
@SETTINGS
@given(event=valid_events())
def test_any_valid_event_round_trips(binding, round_trip, typed, event):
    expected = event if typed else untyped_extensions(event)
    assert_same(round_trip(event), expected)


def assert_valid_or_refused(read):
    try:
        result = read()
    except InvalidEventError:
        return
    events = result if isinstance(result, list) else [result]
    for event in events:
        assert isinstance(event, StrictCloudEvent)
        assert_same(via_json(event), event)  # a valid event is writable and stable
        http.to_binary(event)
        amqp.to_binary(event)


@SETTINGS
@given(body=st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_json_readers_survive_any_bytes(body):
    assert_valid_or_refused(lambda: from_json(body))
    assert_valid_or_refused(lambda: from_batch(body))


wire_values = st.one_of(
    json_scalars,
    st.lists(json_scalars, max_size=2),
    st.dictionaries(st.text(max_size=3), json_scalars, max_size=2),
    st.sampled_from(["1.0", "0.3", "2018-04-05T03:56:24Z", "/src", "base64", "application/json"]),
)
attribute_names = st.one_of(
    st.sampled_from([*CORE, "data", "data_base64", "schemaurl", "datacontentencoding", "Ext", ""]),
    st.text(max_size=6),
)


@SETTINGS
@given(members=st.dictionaries(attribute_names, wire_values, max_size=10))
def test_json_reader_survives_any_object(members):
    body = json.dumps(members)
    assert_valid_or_refused(lambda: from_json(body))
    assert_valid_or_refused(lambda: from_batch("[" + body + "]"))


header_values = st.one_of(
    st.text(max_size=30),
    st.binary(max_size=30),
    st.sampled_from(
        ["1.0", "0.3", "%", "%zz", "%FF", '"a\\"b"', '"', "2018-04-05T03:56:24Z", "/s"]
    ),
)
header_names = st.one_of(
    st.sampled_from(
        ["ce-" + name for name in [*CORE, "data", "x", "schemaurl", ""]] + ["Content-Type", "CE-ID"]
    ),
    st.text(max_size=10),
)


@SETTINGS
@given(
    headers=st.lists(st.tuples(header_names, header_values), max_size=10),
    body=st.binary(max_size=60),
)
def test_http_reader_survives_any_headers_and_body(headers, body):
    assert_valid_or_refused(lambda: http.from_http(headers, body))
    assert_valid_or_refused(lambda: http.from_http_events(headers, body))
    assert_valid_or_refused(lambda: http.from_http(dict(headers), body))


amqp_values = st.one_of(
    header_values,
    st.booleans(),
    st.integers(-(2**64), 2**64),
    st.floats(),
    st.datetimes(),
    st.none(),
    st.decimals(allow_nan=False),
    st.just(Decimal("1.5")),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.lists(st.integers(), max_size=2),
)


@SETTINGS
@given(
    headers=st.one_of(
        st.none(),
        st.dictionaries(st.one_of(header_names, st.binary(max_size=6)), amqp_values, max_size=10),
    ),
    body=st.binary(max_size=60),
    content_type=st.one_of(
        st.none(),
        st.text(max_size=20),
        st.sampled_from(["application/cloudevents+json", "application/json"]),
    ),
)
def test_amqp_reader_survives_any_headers_and_body(headers, body, content_type):
    assert_valid_or_refused(lambda: amqp.from_amqp(body, headers, content_type))


@SETTINGS
@given(event=valid_events(), data=st.data())
def test_mutated_messages_are_read_or_refused(event, data):
    encoded = bytearray(to_json(event))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(encoded) - 1))
        encoded[position] = data.draw(st.integers(0, 255))
    assert_valid_or_refused(lambda: from_json(bytes(encoded)))
    message = http.to_binary(event)
    headers = dict(message.headers)
    name = data.draw(st.sampled_from(sorted(headers)))
    headers[name] = data.draw(header_values)
    assert_valid_or_refused(lambda: http.from_http(headers, message.body))
