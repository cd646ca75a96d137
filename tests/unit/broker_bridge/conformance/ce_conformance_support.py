"""Shared helpers of the CloudEvents conformance tests: the TCK location and loader,
the expected event of a TCK document, and the comparison used by round-trip tests."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from amqp.serialization import dumps as amqp_dumps
from amqp.serialization import loads as amqp_loads

from broker_bridge.bindings import amqp, http
from broker_bridge.event import JSON_NULL, StrictCloudEvent, canonical_string, new_event, same_event
from broker_bridge.formats._media import parse_media_type
from broker_bridge.formats.batch import from_batch, to_batch
from broker_bridge.formats.json import from_json, to_json

CORE = {"id", "source", "type", "specversion", "datacontenttype", "dataschema", "subject", "time"}


def tck_dir() -> Path:
    """../shared/cloudevents-tck beside the repo root, or $EVENTFN_TCK_DIR."""
    override = os.environ.get("EVENTFN_TCK_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[4].parent / "shared" / "cloudevents-tck"


def conformance_documents() -> list[tuple[str, dict[str, Any]]]:
    """Every document of conformance/*.yaml as (id, document), every scalar a string."""
    folder = tck_dir() / "conformance"
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise FileNotFoundError(f"no CloudEvents TCK conformance files under {folder}")
    documents = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for index, document in enumerate(yaml.load_all(text, Loader=yaml.BaseLoader)):
            if document:
                documents.append((f"{path.stem}[{index}]", document))
    return documents


def tck_attributes(document: dict[str, Any]) -> dict[str, str]:
    """Context attributes and extensions as wire strings, trimmed as the upstream
    conformance tool trims them (``strings.TrimSpace`` before setting each header)."""
    context = dict(document["ContextAttributes"])
    extensions = context.pop("Extensions", None) or {}
    attributes = {name: value.strip() for name, value in context.items()}
    attributes.update({name: value.strip() for name, value in extensions.items()})
    return {name: value for name, value in attributes.items() if value}


def expected_event(document: dict[str, Any]) -> StrictCloudEvent:
    """The event a TCK document describes, in our model (0.3 converted to 1.0)."""
    attributes: dict[str, Any] = tck_attributes(document)
    attributes["specversion"] = "1.0"
    if "time" in attributes:
        attributes["time"] = datetime.fromisoformat(attributes["time"])
    raw = document.get("Data")
    content_type = attributes.get("datacontenttype")
    data: Any = None
    if raw is not None:
        if content_type is None or parse_media_type(content_type).kind == "json":
            data = json.loads(raw)
            data = JSON_NULL if data is None else data
        else:
            data = raw
    return new_event(attributes, data)


def untyped_extensions(event: StrictCloudEvent) -> StrictCloudEvent:
    """``event`` as a text-only transport (HTTP binary mode) delivers it: every
    extension value as its canonical string."""
    attributes = {
        name: value if name in CORE else canonical_string(value)
        for name, value in event.get_attributes().items()
    }
    return StrictCloudEvent.trusted(attributes, event.get_data(), event.has_data)


def assert_same(actual: Any, expected: Any) -> None:
    assert isinstance(actual, StrictCloudEvent), type(actual)
    assert same_event(actual, expected), f"\n  got      {actual!r}\n  expected {expected!r}"


# --- every binding and mode, as a round trip -----------------------------------------


def over_amqp_wire(headers: dict[str, Any]) -> dict[str, Any]:
    """Headers as they come back from py-amqp after a trip through an AMQP field table."""
    buffer = amqp_dumps("F", [headers])
    (decoded,), _ = amqp_loads("F", buffer, 0)
    return decoded


def via_json(event):
    return from_json(to_json(event))


def via_batch(event):
    (only,) = from_batch(to_batch([event]))
    return only


def via_http_binary(event):
    message = http.to_binary(event)
    return http.from_http(message.headers, message.body)


def via_http_structured(event):
    message = http.to_structured(event)
    return http.from_http(message.headers, message.body)


def via_http_batch(event):
    message = http.to_batch([event])
    (only,) = http.from_http_events(message.headers, message.body)
    return only


def via_amqp_binary(event):
    message = amqp.to_amqp(event, "binary")
    return amqp.from_amqp(message.body, message.headers, message.content_type)


def via_amqp_binary_wire(event):
    message = amqp.to_amqp(event, "binary")
    return amqp.from_amqp(message.body, over_amqp_wire(dict(message.headers)), message.content_type)


def via_amqp_structured(event):
    message = amqp.to_amqp(event, "structured")
    return amqp.from_amqp(message.body, message.headers, message.content_type)


#: (name, round trip, whether extension types survive it)
ROUND_TRIPS = [
    ("json", via_json, True),
    ("batch", via_batch, True),
    ("http-binary", via_http_binary, False),
    ("http-structured", via_http_structured, True),
    ("http-batch", via_http_batch, True),
    ("amqp-binary", via_amqp_binary, True),
    ("amqp-binary-wire", via_amqp_binary_wire, True),
    ("amqp-structured", via_amqp_structured, True),
]
