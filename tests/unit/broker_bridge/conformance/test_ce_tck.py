"""Every event of the official CloudEvents conformance data survives every binding.

The TCK files are read at test time from ../shared/cloudevents-tck (or
$EVENTFN_TCK_DIR); a missing folder fails collection, it never skips.
"""

from __future__ import annotations

import json

import pytest
from ce_conformance_support import (
    ROUND_TRIPS,
    assert_same,
    conformance_documents,
    expected_event,
    tck_attributes,
    untyped_extensions,
)

from broker_bridge.bindings import amqp, http
from broker_bridge.formats.batch import from_batch, to_batch
from broker_bridge.formats.json import from_json

DOCUMENTS = conformance_documents()
IDS = [name for name, _ in DOCUMENTS]


def test_the_tck_has_all_fifteen_events(tck_path):
    assert len(DOCUMENTS) == 15
    assert {doc["ContextAttributes"]["specversion"] for _, doc in DOCUMENTS} == {"0.3", "1.0"}


def upstream_request(document):
    """The HTTP request the upstream conformance tool sends for a document: binary
    mode, trimmed attribute values as ce- headers, Data verbatim as the body."""
    attributes = tck_attributes(document)
    headers = [("User-Agent", "conformance")]
    for name, value in attributes.items():
        key = "Content-Type" if name == "datacontenttype" else "ce-" + name
        headers.append((key, value))
    headers += list((document.get("TransportExtensions") or {}).items())
    return headers, (document.get("Data") or "").encode("utf-8")


@pytest.mark.parametrize(("name", "document"), DOCUMENTS, ids=IDS)
def test_the_upstream_http_request_reads_as_the_event(name, document):
    headers, body = upstream_request(document)
    assert_same(http.from_http(headers, body), expected_event(document))


@pytest.mark.parametrize(("name", "document"), DOCUMENTS, ids=IDS)
def test_the_structured_json_reads_as_the_event(name, document):
    expected = expected_event(document)
    member = dict(tck_attributes(document))
    if expected.has_data:
        member["data"] = expected.get_data()
    assert_same(from_json(json.dumps(member)), expected)


@pytest.mark.parametrize(("name", "document"), DOCUMENTS, ids=IDS)
@pytest.mark.parametrize(
    ("binding", "round_trip", "typed"), ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS]
)
def test_every_tck_event_round_trips(name, document, binding, round_trip, typed):
    event = expected_event(document)
    expected = event if typed else untyped_extensions(event)
    assert_same(round_trip(event), expected)


def test_the_whole_tck_round_trips_as_one_batch():
    events = [expected_event(document) for _, document in DOCUMENTS]
    for got, expected in zip(from_batch(to_batch(events)), events, strict=True):
        assert_same(got, expected)


@pytest.mark.parametrize(("name", "document"), DOCUMENTS, ids=IDS)
def test_tck_events_read_from_amqp_string_headers(name, document):
    # A producer that writes every header as a string (the knative RabbitMQ binding).
    attributes = tck_attributes(document)
    content_type = attributes.pop("datacontenttype", None)
    headers = {"ce-" + key: value.encode("utf-8") for key, value in attributes.items()}
    body = (document.get("Data") or "").encode("utf-8")
    assert_same(amqp.from_amqp(body, headers, content_type), expected_event(document))


def test_v03_events_are_converted_to_v1():
    converted = [doc for _, doc in DOCUMENTS if doc["ContextAttributes"]["specversion"] == "0.3"]
    assert converted
    for document in converted:
        headers, body = upstream_request(document)
        event = http.from_http(headers, body)
        assert event.get_specversion() == "1.0"
        assert_same(event, expected_event(document))
