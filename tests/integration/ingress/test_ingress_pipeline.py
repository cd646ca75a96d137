"""Through the whole pipeline: HTTP client -> ``eventfn ingress`` -> bridge -> worker.

Every CloudEvents TCK conformance event, POSTed in binary and in structured mode,
is handled by the subscribed function with its attributes and data intact; batches
of 1, 100 and 0 events too. Real subprocesses on a private RabbitMQ node.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from support.rabbitmq_node import RabbitMQNode

from broker_bridge.bindings._percent import percent_encode
from broker_bridge.bindings.http import from_http
from broker_bridge.event import canonical_string
from broker_bridge.formats.json import to_json
from worker_runtime.testing import EventfnProcess, wait_until

RECORDER = str(Path(__file__).with_name("ingress_recorder.py"))

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(900)]


def tck_dir() -> Path:
    override = os.environ.get("EVENTFN_TCK_DIR")
    path = (
        Path(override)
        if override
        else Path(__file__).resolve().parents[3].parent / "shared" / "cloudevents-tck"
    )
    if not path.is_dir():
        pytest.fail(f"CloudEvents TCK folder {path} is missing (set EVENTFN_TCK_DIR)")
    return path


def tck_documents() -> list[tuple[str, dict[str, Any]]]:
    documents = []
    for path in sorted((tck_dir() / "conformance").glob("*.yaml")):
        for index, doc in enumerate(yaml.load_all(path.read_text(), Loader=yaml.BaseLoader)):
            if doc:
                documents.append((f"{path.stem}-{index}", doc))
    assert documents, "no TCK conformance documents"
    return documents


def _attributes(doc: dict[str, Any], event_id: str) -> dict[str, str]:
    context = dict(doc["ContextAttributes"])
    extensions = context.pop("Extensions", None) or {}
    attributes = {k: v.strip() for k, v in {**context, **extensions}.items()}
    attributes = {k: v for k, v in attributes.items() if v}
    attributes["id"] = event_id
    return attributes


def _is_json(content_type: str | None) -> bool:
    return content_type is None or "json" in content_type.split(";")[0]


def binary_request(doc: dict[str, Any], event_id: str) -> tuple[dict[str, str], bytes]:
    attributes = _attributes(doc, event_id)
    headers = {
        "ce-" + k: percent_encode(v) for k, v in attributes.items() if k != "datacontenttype"
    }
    if "datacontenttype" in attributes:
        headers["content-type"] = attributes["datacontenttype"]
    headers.update(doc.get("TransportExtensions") or {})
    data = doc.get("Data")
    return headers, (data.encode() if data is not None else b"")


def structured_request(doc: dict[str, Any], event_id: str) -> tuple[dict[str, str], bytes]:
    event: dict[str, Any] = dict(_attributes(doc, event_id))
    data = doc.get("Data")
    if data is not None:
        event["data"] = json.loads(data) if _is_json(event.get("datacontenttype")) else data
    headers = {"content-type": "application/cloudevents+json"}
    headers.update(doc.get("TransportExtensions") or {})
    return headers, json.dumps(event).encode()


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line)["event"] for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def pipeline(
    private_rabbitmq: RabbitMQNode, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """bridge + worker + ingress subprocesses on the private node; (ingress URL, records)."""
    folder = tmp_path_factory.mktemp("pipeline")
    records = folder / "records.jsonl"
    env = {"EVENTFN_BROKER_URL": private_rabbitmq.url, "EVENTFN_TEST_RECORD": str(records)}
    started: list[EventfnProcess] = []
    try:
        for name, args, ready in [
            ("bridge", ["bridge", "--functions", RECORDER], "bridge consuming"),
            (
                "worker",
                ["worker", "ingress-recorder", "--functions", RECORDER, "-c", "2"],
                "ready.",
            ),
            ("ingress", ["ingress", "--functions", RECORDER, "--port", "0"], "ingress listening"),
        ]:
            process = EventfnProcess(
                args, log_path=folder / f"{name}.log", env=env, cwd=folder, ready_line=ready
            )
            started.append(process.start(timeout=120))
        ingress_log = started[-1].log_text()
        line = next(json.loads(x) for x in ingress_log.splitlines() if "ingress listening" in x)
        yield f"http://127.0.0.1:{line['port']}", records
    finally:
        for process in reversed(started):
            process.terminate(grace=60)


def test_every_tck_event_in_binary_and_structured_mode_is_handled_intact(
    pipeline: tuple[str, Path],
) -> None:
    url, records = pipeline
    expected: dict[str, Any] = {}
    with httpx.Client(base_url=url, timeout=60) as http:
        for doc_id, doc in tck_documents():
            for mode, build in (("binary", binary_request), ("structured", structured_request)):
                event_id = f"tck-{doc_id}-{mode}"
                headers, body = build(doc, event_id)
                response = http.post("/", headers=headers, content=body)
                assert response.status_code == 202, (event_id, response.text)
                expected[event_id] = (doc, from_http(headers, body))
    wait_until(
        lambda: {r["id"] for r in _records(records)} >= set(expected),
        timeout=300,
        message=lambda: f"{len(expected)} TCK events handled; have {len(_records(records))}",
    )
    handled = {r["id"]: r for r in _records(records) if r["id"] in expected}
    for event_id, (doc, parsed) in expected.items():
        record = handled[event_id]
        assert record == json.loads(to_json(parsed)), f"{event_id} changed on its way"
        for name, value in _attributes(doc, event_id).items():
            if name == "specversion":
                assert record["specversion"] == "1.0"  # 0.3 events are converted on receive
            elif name == "time":
                assert record["time"].replace("+00:00", "Z") == value
            else:
                assert canonical_string(record[name]) == value, (event_id, name)
        data = doc.get("Data")
        if data is not None:
            content_type = _attributes(doc, event_id).get("datacontenttype")
            if _is_json(content_type):
                assert record["data"] == json.loads(data), event_id
            else:
                assert record["data"] == data, event_id


@pytest.mark.parametrize("size", [1, 100, 0])
def test_batches_reach_the_function(pipeline: tuple[str, Path], size: int) -> None:
    url, records = pipeline
    ids = [f"batch{size}-{i}" for i in range(size)]
    batch = [
        {
            "specversion": "1.0",
            "id": event_id,
            "source": "/tests/batch",
            "type": "com.example.ingress.batch",
            "data": {"n": n},
        }
        for n, event_id in enumerate(ids)
    ]
    response = httpx.post(
        url + "/",
        headers={"content-type": "application/cloudevents-batch+json"},
        content=json.dumps(batch),
        timeout=60,
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": size}
    wait_until(
        lambda: {r["id"] for r in _records(records)} >= set(ids),
        timeout=300,
        message=lambda: f"{size} batch events handled",
    )
    handled = [r for r in _records(records) if r["id"] in set(ids)]
    assert sorted(r["data"]["n"] for r in handled) == list(range(size))
