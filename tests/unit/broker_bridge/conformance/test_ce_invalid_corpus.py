"""A corpus of invalid inputs, each with the error it must get.

Every case names the reader, the input, the attribute (problem key) the error must
name, and a fragment of the reason. Together they cover each MUST of the core spec,
the JSON and batch formats and the HTTP and RabbitMQ bindings that a reader can
check, plus malformed input: truncated JSON, wrong types, oversized integers, bad
base64, bad percent-encoding, missing required attributes, both data members.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from broker_bridge.bindings import amqp, http
from broker_bridge.formats.batch import from_batch
from broker_bridge.formats.json import from_json
from broker_bridge.invalid import InvalidEventError, UnsupportedFormatError

BASE = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t"}
HEADERS = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "t"}


def event_json(**changes):
    members = {**BASE, **changes}
    return json.dumps({k: v for k, v in members.items() if v is not ...})


def without(name):
    return json.dumps({k: v for k, v in BASE.items() if k != name})


def binary(headers=None, body=b"", **changes):
    merged = {**HEADERS, **(headers or {})}
    return lambda: http.from_http([(k, v) for k, v in merged.items() if v is not None], body)


def amqp_binary(content_type=None, body=b"", **headers):
    merged = {**HEADERS, **{"ce-" + k: v for k, v in headers.items()}}
    return lambda: amqp.from_amqp(
        body, {k: v for k, v in merged.items() if v is not None}, content_type
    )


def j(text):
    return lambda: from_json(text)


CASES = [
    # -- malformed JSON --------------------------------------------------------------
    ("truncated-json", j('{"specversion": "1.0", "id": "1"'), "$", "not a JSON CloudEvent"),
    ("empty-body", j(b""), "$", "not a JSON CloudEvent"),
    ("not-an-object", j("[]"), "$", "is an object, not an array"),
    ("json-null-document", j("null"), "$", "not null"),
    ("invalid-utf8", j(b'{"id": "\xff"}'), "$", "not UTF-8"),
    ("utf8-bom", j(b"\xef\xbb\xbf" + event_json().encode()), "$", "not a JSON CloudEvent"),
    ("nan-in-data", j(event_json()[:-1] + ', "data": NaN}'), "$", "NaN is not a JSON number"),
    (
        "nesting-too-deep",
        j(event_json()[:-1] + ', "data": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        "$",
        "nested too deeply",
    ),
    (
        "integer-too-long-to-parse",
        j(event_json()[:-1] + ', "n": ' + "9" * 5000 + "}"),
        "$",
        "not a JSON CloudEvent",
    ),
    # -- required attributes ---------------------------------------------------------
    ("missing-id", j(without("id")), "id", "required attribute is missing"),
    ("missing-source", j(without("source")), "source", "required attribute is missing"),
    ("missing-type", j(without("type")), "type", "required attribute is missing"),
    (
        "missing-specversion",
        j(without("specversion")),
        "specversion",
        "required attribute is missing",
    ),
    ("null-id-is-unset", j(event_json(id=None)), "id", "required attribute is missing"),
    ("empty-id", j(event_json(id="")), "id", "must not be empty"),
    ("empty-source", j(event_json(source="")), "source", "must not be empty"),
    ("empty-type", j(event_json(type="")), "type", "must not be empty"),
    ("id-not-a-string", j(event_json(id=42)), "id", "must be a String, got int"),
    ("type-is-an-object", j(event_json(type={"a": 1})), "type", "must be a String, got dict"),
    ("specversion-number", j(event_json(specversion=1.0)), "specversion", "must be a String"),
    ("specversion-unknown", j(event_json(specversion="2.0")), "specversion", "is not supported"),
    # -- optional attributes ---------------------------------------------------------
    ("empty-subject", j(event_json(subject="")), "subject", "must not be empty"),
    ("source-with-space", j(event_json(source="my source")), "source", "must be percent-encoded"),
    (
        "source-bad-percent",
        j(event_json(source="/a%zz")),
        "source",
        "'%' not followed by two hex digits",
    ),
    ("source-bad-scheme", j(event_json(source="1http://x")), "source", "invalid scheme"),
    ("dataschema-relative", j(event_json(dataschema="/schema.json")), "dataschema", "absolute URI"),
    ("dataschema-empty", j(event_json(dataschema="")), "dataschema", "must not be empty"),
    (
        "datacontenttype-not-media-type",
        j(event_json(datacontenttype="json")),
        "datacontenttype",
        "not a media type",
    ),
    (
        "datacontenttype-empty",
        j(event_json(datacontenttype="")),
        "datacontenttype",
        "must not be empty",
    ),
    ("time-date-only", j(event_json(time="2018-04-05")), "time", "not an RFC 3339 timestamp"),
    (
        "time-without-offset",
        j(event_json(time="2018-04-05T03:56:24")),
        "time",
        "not an RFC 3339 timestamp",
    ),
    (
        "time-iso-basic-format",
        j(event_json(time="20180405T035624Z")),
        "time",
        "not an RFC 3339 timestamp",
    ),
    ("time-month-13", j(event_json(time="2018-13-05T03:56:24Z")), "time", "month must be in 1..12"),
    (
        "time-leap-second",
        j(event_json(time="2016-12-31T23:59:60Z")),
        "time",
        "second must be in 0..59",
    ),
    ("time-number", j(event_json(time=1522900584)), "time", "must be an RFC 3339 timestamp"),
    # -- strings ---------------------------------------------------------------------
    ("id-with-newline", j(event_json(id="a\nb")), "id", "U+000A"),
    ("subject-with-c1-control", j(event_json(subject="a\u0085")), "subject", "U+0085"),
    ("type-lone-surrogate", j(event_json()[:-1] + ', "type": "\\ud800"}'), "type", "U+D800"),
    ("id-noncharacter", j(event_json(id="a\ufffe")), "id", "U+FFFE"),
    ("extension-with-del", j(event_json(ext="a\x7f")), "ext", "U+007F"),
    # -- extensions ------------------------------------------------------------------
    (
        "extension-object",
        j(event_json(ext={"a": 1})),
        "ext",
        "Boolean, an Integer or a String, got dict",
    ),
    ("extension-array", j(event_json(ext=[1])), "ext", "got list"),
    ("extension-float", j(event_json(ext=1.5)), "ext", "got float"),
    ("extension-int32-overflow", j(event_json(ext=2**31)), "ext", "signed 32-bit range"),
    ("extension-int32-underflow", j(event_json(ext=-(2**31) - 1)), "ext", "signed 32-bit range"),
    ("extension-name-uppercase", j(event_json(myExt="x")), "myExt", "not a valid attribute name"),
    (
        "extension-name-dash",
        j(event_json(**{"my-ext": "x"})),
        "my-ext",
        "not a valid attribute name",
    ),
    # -- data ------------------------------------------------------------------------
    (
        "data-and-data-base64",
        j(event_json(data="a", data_base64="YQ==")),
        "data",
        "mutually exclusive",
    ),
    (
        "data-null-and-data-base64",
        j(event_json(data=None, data_base64="YQ==")),
        "data",
        "mutually exclusive",
    ),
    (
        "data-base64-bad-characters",
        j(event_json(data_base64="!!!!")),
        "data_base64",
        "not valid base64",
    ),
    (
        "data-base64-bad-padding",
        j(event_json(data_base64="YQ")),
        "data_base64",
        "Incorrect padding",
    ),
    (
        "data-base64-not-a-string",
        j(event_json(data_base64=12)),
        "data_base64",
        "must be a base64 string",
    ),
    (
        "data-base64-url-alphabet",
        j(event_json(data_base64="-_-_")),
        "data_base64",
        "not valid base64",
    ),
    # -- spec version 0.3 conversion -------------------------------------------------
    (
        "v03-unknown-encoding",
        j(event_json(specversion="0.3", datacontentencoding="gzip", data="x")),
        "datacontentencoding",
        "only 'base64'",
    ),
    (
        "v03-bad-base64-data",
        j(event_json(specversion="0.3", datacontentencoding="base64", data="!!")),
        "data",
        "not valid base64",
    ),
    (
        "v03-relative-schemaurl",
        j(event_json(specversion="0.3", schemaurl="/s.json")),
        "dataschema",
        "absolute URI",
    ),
    # -- batch -----------------------------------------------------------------------
    ("batch-not-an-array", lambda: from_batch(event_json()), "$", "JSON array of events"),
    ("batch-truncated", lambda: from_batch("[" + event_json()), "$", "not a JSON batch"),
    (
        "batch-element-invalid",
        lambda: from_batch(f"[{event_json()}, {without('id')}]"),
        "[1].id",
        "required",
    ),
    ("batch-element-not-object", lambda: from_batch("[1]"), "[0]", "not a number"),
    # -- HTTP binary mode ------------------------------------------------------------
    (
        "http-missing-specversion",
        binary({"ce-specversion": None}),
        "specversion",
        "required attribute is missing",
    ),
    (
        "http-bad-percent-sequence",
        binary({"ce-id": "a%G1"}),
        "id",
        "not followed by two hex digits",
    ),
    ("http-truncated-percent", binary({"ce-id": "a%4"}), "id", "not followed by two hex digits"),
    ("http-percent-invalid-utf8", binary({"ce-id": "a%FF"}), "id", "not UTF-8"),
    ("http-raw-invalid-utf8", binary({"ce-id": b"a\xc3"}), "id", "not UTF-8"),
    ("http-bad-quoted-string", binary({"ce-id": '"abc'}), "id", "malformed quoted string"),
    ("http-percent-encoded-control", binary({"ce-id": "a%0Ab"}), "id", "U+000A"),
    (
        "http-ce-datacontenttype",
        binary({"ce-datacontenttype": "text/plain"}),
        "datacontenttype",
        "travels in Content-Type",
    ),
    (
        "http-bad-content-type",
        binary({"Content-Type": "nonsense"}),
        "datacontenttype",
        "not a media type",
    ),
    (
        "http-json-body-not-json",
        binary({"Content-Type": "application/json"}, b"{oops"),
        "data",
        "body is not JSON",
    ),
    ("http-reserved-data-extension", binary({"ce-data": "x"}), "data", "reserved"),
    (
        "http-extension-name-underscore",
        binary({"ce-my_ext": "x"}),
        "my_ext",
        "not a valid attribute name",
    ),
    (
        "http-repeated-header",
        lambda: http.from_http([*HEADERS.items(), ("CE-ID", "2")], b""),
        "id",
        "repeated",
    ),
    (
        "http-batch-where-one-event-expected",
        lambda: http.from_http({"content-type": "application/cloudevents-batch+json"}, b"[]"),
        "$",
        "batch was sent",
    ),
    (
        "http-structured-invalid",
        lambda: http.from_http(
            {"content-type": "application/cloudevents+json"}, without("id").encode()
        ),
        "id",
        "required",
    ),
    # -- AMQP binary mode ------------------------------------------------------------
    (
        "amqp-missing-specversion",
        amqp_binary(specversion=None),
        "specversion",
        "required attribute is missing",
    ),
    ("amqp-float-header", amqp_binary(ext=1.5), "ext", "AMQP float cannot carry"),
    ("amqp-decimal-header", amqp_binary(ext=Decimal("1.5")), "ext", "AMQP Decimal cannot carry"),
    ("amqp-table-header", amqp_binary(ext={"a": 1}), "ext", "AMQP dict cannot carry"),
    ("amqp-array-header", amqp_binary(ext=[1]), "ext", "AMQP list cannot carry"),
    ("amqp-bytes-not-utf8", amqp_binary(id=b"\xff"), "id", "bytes are not UTF-8"),
    ("amqp-int64-extension", amqp_binary(ext=2**40), "ext", "signed 32-bit range"),
    ("amqp-id-as-integer", amqp_binary(id=7), "id", "must be a String, got int"),
    (
        "amqp-json-body-not-json",
        amqp_binary("application/json", b"nope"),
        "data",
        "body is not JSON",
    ),
]


def test_the_corpus_is_large_and_distinct():
    assert len(CASES) >= 40
    assert len({name for name, *_ in CASES}) == len(CASES)


@pytest.mark.parametrize(("name", "read", "attribute", "reason"), CASES, ids=[c[0] for c in CASES])
def test_invalid_input_is_refused_precisely(name, read, attribute, reason):
    with pytest.raises(InvalidEventError) as caught:
        read()
    problems = caught.value.problems
    assert attribute in problems, problems
    assert any(reason in message for message in problems[attribute]), problems


UNSUPPORTED = [
    (
        "http-xml-format",
        lambda: http.from_http({"Content-Type": "application/cloudevents+xml"}, b"<e/>"),
    ),
    (
        "http-avro-batch",
        lambda: http.from_http_events({"Content-Type": "application/cloudevents-batch+avro"}, b""),
    ),
    (
        "http-latin1-json",
        lambda: http.from_http(
            {"Content-Type": "application/cloudevents+json; charset=latin-1"}, b"{}"
        ),
    ),
    ("amqp-protobuf-format", lambda: amqp.from_amqp(b"", {}, "application/cloudevents+protobuf")),
    ("amqp-batch", lambda: amqp.from_amqp(b"[]", {}, "application/cloudevents-batch+json")),
]


@pytest.mark.parametrize(("name", "read"), UNSUPPORTED, ids=[c[0] for c in UNSUPPORTED])
def test_unsupported_event_formats_are_named(name, read):
    with pytest.raises(UnsupportedFormatError) as caught:
        read()
    assert caught.value.content_type
    assert "$" in caught.value.problems


def test_one_error_lists_every_problem():
    body = json.dumps(
        {
            "specversion": "1.0",
            "id": "",
            "time": "yesterday",
            "x": {},
            "data": 1,
            "data_base64": "?",
        }
    )
    with pytest.raises(InvalidEventError) as caught:
        from_json(body)
    assert set(caught.value.problems) >= {
        "id",
        "source",
        "type",
        "time",
        "x",
        "data",
        "data_base64",
    }
    details = caught.value.as_problem_details()
    assert details["status"] == 400
    assert {p["name"] for p in details["invalid-params"]} == set(caught.value.problems)
