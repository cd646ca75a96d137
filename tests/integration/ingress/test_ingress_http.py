"""The ingress's HTTP contract against a real server on a loopback port (httpx client).

Every status code of docs/ingress.md, at least 30 malformed requests each answered
with the right 4xx and a problem+json body naming the problem, and the accepted
events checked on the bridge queue of an embedded broker (one per test).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from ingress_support import bridge_events, raw_messages, running_ingress

from broker_bridge.event import new_event, same_event
from broker_bridge.formats.json import from_json

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

PROBLEM = "application/problem+json"
BATCH = "application/cloudevents-batch+json"
STRUCTURED = "application/cloudevents+json"
GOOD = {"specversion": "1.0", "id": "e-1", "source": "/tests/ingress", "type": "com.example.t"}
BINARY = {"ce-specversion": "1.0", "ce-id": "b-1", "ce-source": "/s", "ce-type": "com.example.t"}


@pytest.fixture
def ingress(embedded_url: str) -> Iterator[str]:
    with running_ingress(
        embedded_url, functions={"resize", "notify"}, ingress_max_body=64 * 1024
    ) as url:
        yield url


@pytest.fixture
def client(ingress: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ingress, timeout=60) as http:
        yield http


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:eventfn:problem:")
    assert body["title"]
    assert body["detail"]
    return body


def _structured(**changes: Any) -> bytes:
    event = {**GOOD, **changes}
    return json.dumps({k: v for k, v in event.items() if v is not _DROP}).encode()


_DROP = object()

# (id, headers, body, status, text the problem must contain)
MALFORMED: list[tuple[str, list[tuple[str, str]], bytes, int, str]] = [
    # binary mode
    ("binary-no-ce-headers", [("content-type", "application/json")], b"{}", 400, "specversion"),
    ("binary-missing-id", [(k, v) for k, v in BINARY.items() if k != "ce-id"], b"", 400, '"id"'),
    (
        "binary-missing-source",
        [(k, v) for k, v in BINARY.items() if k != "ce-source"],
        b"",
        400,
        '"source"',
    ),
    (
        "binary-missing-type",
        [(k, v) for k, v in BINARY.items() if k != "ce-type"],
        b"",
        400,
        '"type"',
    ),
    (
        "binary-specversion-2",
        [*{**BINARY, "ce-specversion": "2.0"}.items()],
        b"",
        400,
        "specversion",
    ),
    ("binary-empty-id", [*{**BINARY, "ce-id": ""}.items()], b"", 400, '"id"'),
    ("binary-bad-time", [*BINARY.items(), ("ce-time", "yesterday")], b"", 400, '"time"'),
    ("binary-date-only-time", [*BINARY.items(), ("ce-time", "2018-04-05")], b"", 400, '"time"'),
    (
        "binary-relative-dataschema",
        [*BINARY.items(), ("ce-dataschema", "x")],
        b"",
        400,
        "dataschema",
    ),
    ("binary-bad-extension-name", [*BINARY.items(), ("ce-bad_name", "v")], b"", 400, "bad_name"),
    (
        "binary-control-char-in-source",
        [*{**BINARY, "ce-source": "/a%00b"}.items()],
        b"",
        400,
        "source",
    ),
    ("binary-bad-percent-encoding", [*BINARY.items(), ("ce-subject", "%zz")], b"", 400, "subject"),
    (
        "binary-bad-content-type",
        [*BINARY.items(), ("content-type", "not a type")],
        b"x",
        400,
        "datacontenttype",
    ),
    (
        "binary-repeated-content-type",
        [*BINARY.items(), ("content-type", "text/plain"), ("content-type", "text/html")],
        b"x",
        400,
        "repeated",
    ),
    ("binary-empty-type", [*{**BINARY, "ce-type": ""}.items()], b"", 400, '"type"'),
    # structured mode
    ("structured-not-json", [("content-type", STRUCTURED)], b"{not json", 400, "JSON"),
    ("structured-array", [("content-type", STRUCTURED)], b"[]", 400, '"$"'),
    ("structured-string", [("content-type", STRUCTURED)], b'"event"', 400, '"$"'),
    ("structured-empty-body", [("content-type", STRUCTURED)], b"", 400, '"$"'),
    ("structured-missing-id", [("content-type", STRUCTURED)], _structured(id=_DROP), 400, '"id"'),
    ("structured-numeric-id", [("content-type", STRUCTURED)], _structured(id=7), 400, '"id"'),
    (
        "structured-numeric-specversion",
        [("content-type", STRUCTURED)],
        _structured(specversion=1.0),
        400,
        "specversion",
    ),
    (
        "structured-empty-source",
        [("content-type", STRUCTURED)],
        _structured(source=""),
        400,
        "source",
    ),
    (
        "structured-data-and-base64",
        [("content-type", STRUCTURED)],
        _structured(data=1, data_base64="AA=="),
        400,
        "data",
    ),
    (
        "structured-bad-base64",
        [("content-type", STRUCTURED)],
        _structured(data_base64="!!"),
        400,
        "data_base64",
    ),
    (
        "structured-object-extension",
        [("content-type", STRUCTURED)],
        _structured(ext={"a": 1}),
        400,
        "ext",
    ),
    (
        "structured-float-extension",
        [("content-type", STRUCTURED)],
        _structured(ratio=0.5),
        400,
        "ratio",
    ),
    (
        "structured-bad-time",
        [("content-type", STRUCTURED)],
        _structured(time="05/04/2018"),
        400,
        "time",
    ),
    (
        "structured-upper-extension",
        [("content-type", STRUCTURED)],
        _structured(Bad="v"),
        400,
        "Bad",
    ),
    ("structured-not-utf8", [("content-type", STRUCTURED)], b'{"id": "\xff"}', 400, '"$"'),
    # batch mode
    ("batch-object", [("content-type", BATCH)], _structured(), 400, "array"),
    ("batch-not-json", [("content-type", BATCH)], b"[{", 400, "JSON"),
    ("batch-number-element", [("content-type", BATCH)], b"[" + _structured() + b", 3]", 400, "[1]"),
    (
        "batch-bad-third-event",
        [("content-type", BATCH)],
        b"["
        + _structured(id="a")
        + b","
        + _structured(id="b")
        + b","
        + _structured(source=_DROP)
        + b"]",
        400,
        "[2].source",
    ),
    # unsupported formats
    ("structured-xml", [("content-type", "application/cloudevents+xml")], b"<e/>", 415, "xml"),
    (
        "structured-protobuf",
        [("content-type", "application/cloudevents+protobuf")],
        b"\x00",
        415,
        "protobuf",
    ),
    (
        "structured-latin1",
        [("content-type", STRUCTURED + "; charset=latin-1")],
        _structured(),
        415,
        "UTF-8",
    ),
    ("batch-xml", [("content-type", "application/cloudevents-batch+xml")], b"<b/>", 415, "xml"),
]


@pytest.mark.parametrize(
    ("headers", "body", "status", "named"),
    [c[1:] for c in MALFORMED],
    ids=[c[0] for c in MALFORMED],
)
def test_malformed_requests_get_a_problem_naming_what_is_wrong(
    client: httpx.Client,
    embedded_url: str,
    headers: list[tuple[str, str]],
    body: bytes,
    status: int,
    named: str,
) -> None:
    response = client.post("/", headers=headers, content=body)
    problem = _problem(response, status)
    assert named in json.dumps(problem, ensure_ascii=False), problem
    assert client.get("/healthz").status_code == 200
    assert bridge_events(embedded_url) == [], "nothing of a refused request is published"


def test_there_are_at_least_30_malformed_cases() -> None:
    assert len(MALFORMED) >= 30


def test_a_batch_is_refused_whole_with_index_and_reason_of_each_bad_event(
    client: httpx.Client, embedded_url: str
) -> None:
    events = [_structured(id=f"b{i}") for i in range(5)]
    events[1] = _structured(id="b1", time="never")
    events[3] = _structured(id="b3", type=_DROP)
    response = client.post(
        "/", headers={"content-type": BATCH}, content=b"[" + b",".join(events) + b"]"
    )
    problem = _problem(response, 400)
    assert [error["index"] for error in problem["errors"]] == [1, 3]
    assert any("time" in reason for reason in problem["errors"][0]["reasons"])
    assert any("type" in reason for reason in problem["errors"][1]["reasons"])
    names = {param["name"] for param in problem["invalid-params"]}
    assert {"[1].time", "[3].type"} <= names
    assert bridge_events(embedded_url) == []


def test_binary_and_structured_events_are_accepted_with_attributes_and_data_intact(
    client: httpx.Client, embedded_url: str
) -> None:
    binary = client.post(
        "/",
        headers={
            **BINARY,
            "ce-time": "2018-04-05T03:56:24Z",
            "ce-subject": "caf%C3%A9",
            "ce-traceid": "abc",
            "content-type": "application/json",
        },
        content=b'{"world": "hello"}',
    )
    assert binary.status_code == 202, binary.text
    assert binary.json() == {"accepted": 1}
    structured_body = _structured(id="s-1", data_base64=base64.b64encode(b"\x00\x01").decode())
    structured = client.post("/", headers={"content-type": STRUCTURED}, content=structured_body)
    assert structured.status_code == 202, structured.text
    received = {ce.get_id(): ce for ce in bridge_events(embedded_url)}
    assert set(received) == {"b-1", "s-1"}
    b = received["b-1"]
    assert b.get_subject() == "café"
    assert b.get_extension("traceid") == "abc"
    assert b.get_data() == {"world": "hello"}
    assert b.get_time() is not None
    assert b.get_time().year == 2018
    assert same_event(received["s-1"], from_json(structured_body))
    assert received["s-1"].get_data() == b"\x00\x01"


@pytest.mark.parametrize("size", [1, 100, 0])
def test_batches_are_accepted_whole(client: httpx.Client, embedded_url: str, size: int) -> None:
    events = [new_event({**GOOD, "id": f"batch-{i}"}, {"i": i}) for i in range(size)]
    body = json.dumps([{**GOOD, "id": f"batch-{i}", "data": {"i": i}} for i in range(size)])
    response = client.post("/", headers={"content-type": BATCH}, content=body)
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": size}
    received = sorted(bridge_events(embedded_url), key=lambda ce: int(ce.get_id().split("-")[1]))
    assert len(received) == size
    for got, want in zip(received, events, strict=True):
        assert got.get_id() == want.get_id()
        assert got.get_data() == want.get_data()


def test_post_to_a_function_puts_a_task_on_its_queue(
    client: httpx.Client, embedded_url: str
) -> None:
    response = client.post(
        "/functions/resize",
        headers={"content-type": STRUCTURED},
        content=_structured(id="f-1", data={"url": "x"}),
    )
    assert response.status_code == 202, response.text
    (message,) = raw_messages(embedded_url, "eventfn.fn.resize")
    assert message.headers["task"] == "eventfn.fn.resize"
    args = json.loads(message.body)[0]
    event = from_json(args[0].encode())
    assert event.get_id() == "f-1"
    assert event.get_data() == {"url": "x"}
    assert bridge_events(embedded_url) == [], "the direct route bypasses the bridge"


def test_function_route_refusals(client: httpx.Client) -> None:
    unknown = client.post(
        "/functions/nope", headers={"content-type": STRUCTURED}, content=_structured()
    )
    assert "nope" in _problem(unknown, 404)["detail"]
    batch = client.post("/functions/resize", headers={"content-type": BATCH}, content=b"[]")
    assert "batch" in _problem(batch, 400)["detail"]
    invalid = client.post(
        "/functions/resize", headers={"content-type": STRUCTURED}, content=_structured(id=_DROP)
    )
    assert '"id"' in json.dumps(_problem(invalid, 400))
    xml = client.post(
        "/functions/notify",
        headers={"content-type": "application/cloudevents+xml"},
        content=b"<x/>",
    )
    _problem(xml, 415)


def test_unknown_paths_and_wrong_methods(client: httpx.Client) -> None:
    assert "/nowhere" in _problem(client.post("/nowhere", content=b"x"), 404)["detail"]
    wrong = client.get("/")
    assert _problem(wrong, 405)["detail"].startswith("GET is not allowed")
    assert wrong.headers["allow"] == "POST"
    _problem(client.put("/functions/resize", content=b"x"), 405)
    _problem(client.post("/healthz"), 405)


def test_bodies_over_the_limit_get_413(client: httpx.Client, embedded_url: str) -> None:
    big = _structured(data="x" * (64 * 1024))
    declared = client.post("/", headers={"content-type": STRUCTURED}, content=big)
    assert "65536" in _problem(declared, 413)["detail"]

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x" * 1024

    chunked = client.post("/", headers={"content-type": STRUCTURED}, content=chunks())
    _problem(chunked, 413)
    assert bridge_events(embedded_url) == []


def test_probes_and_metrics(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    client.post("/", headers={"content-type": STRUCTURED}, content=_structured())
    client.post("/", headers={"content-type": STRUCTURED}, content=b"nope")
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'eventfn_ingress_requests_total{route="/",status="202"} 1.0' in text
    assert 'eventfn_ingress_requests_total{route="/",status="400"} 1.0' in text
    assert 'eventfn_ingress_events_accepted_total{mode="structured"} 1.0' in text
    assert "eventfn_ingress_publish_seconds_bucket" in text


def test_token_auth(embedded_url: str) -> None:
    with (
        running_ingress(embedded_url, ingress_token="s3cret") as url,
        httpx.Client(base_url=url) as http,
    ):
        headers = {"content-type": STRUCTURED}
        missing = _problem(http.post("/", headers=headers, content=_structured()), 401)
        assert "Authorization" in missing["detail"]
        wrong = http.post(
            "/", headers={**headers, "authorization": "Bearer nope"}, content=_structured()
        )
        assert _problem(wrong, 401)["detail"] == "the bearer token is not valid"
        assert wrong.headers["www-authenticate"].startswith("Bearer")
        basic = http.post(
            "/", headers={**headers, "authorization": "Basic czNjcmV0"}, content=_structured()
        )
        assert "Bearer" in _problem(basic, 401)["detail"]
        function = http.post("/functions/x", headers=headers, content=_structured())
        _problem(function, 401)
        ok = http.post(
            "/", headers={**headers, "authorization": "Bearer s3cret"}, content=_structured()
        )
        assert ok.status_code == 202
        assert http.get("/healthz").status_code == 200, "probes stay open"
    assert [ce.get_id() for ce in bridge_events(embedded_url)] == ["e-1"]


def test_unreachable_broker_gets_503_with_retry_after_never_202(unused_port: int) -> None:
    url = f"amqp://guest:guest@127.0.0.1:{unused_port}//"
    with (
        running_ingress(url, ingress_retry_after=7, connect_timeout=2) as ingress,
        httpx.Client(base_url=ingress, timeout=60) as http,
    ):
        for body in (_structured(), b"[" + _structured() + b"]"):
            content_type = BATCH if body.startswith(b"[") else STRUCTURED
            response = http.post("/", headers={"content-type": content_type}, content=body)
            problem = _problem(response, 503)
            assert response.headers["retry-after"] == "7"
            assert "broker" in problem["detail"]
        ready = http.get("/readyz")
        _problem(ready, 503)
        assert ready.headers["retry-after"] == "7"
        assert http.get("/healthz").status_code == 200
        assert "eventfn_ingress_broker_up 0.0" in http.get("/metrics").text


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sigterm_drains_in_flight_requests(embedded_url: str, tmp_path: Any) -> None:
    """Requests in flight at SIGTERM get their answer; every 202 is on the queue."""
    import signal
    import threading

    from worker_runtime.testing import EventfnProcess

    ingress = EventfnProcess(
        ["ingress", "--port", "0"],
        log_path=tmp_path / "ingress.log",
        env={"EVENTFN_BROKER_URL": embedded_url},
        ready_line="ingress listening",
    ).start(timeout=120)
    line = next(x for x in ingress.log_text().splitlines() if "ingress listening" in x)
    url = f"http://127.0.0.1:{json.loads(line)['port']}"
    accepted: list[str] = []
    other: list[str] = []
    started = threading.Event()

    def post(n: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            for i in range(200):
                event_id = f"drain-{n}-{i}"
                try:
                    response = http.post(
                        "/", headers={"content-type": STRUCTURED}, content=_structured(id=event_id)
                    )
                except httpx.TransportError:
                    # the listener or an idle keep-alive connection was closed before
                    # this request was read (HTTP/1.1's keep-alive race): no answer
                    return
                started.set()
                if response.status_code == 202:
                    accepted.append(event_id)
                else:
                    other.append(f"{event_id}: {response.status_code}")

    threads = [threading.Thread(target=post, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    started.wait(timeout=60)
    # uvicorn re-raises SIGTERM after its graceful shutdown: exit by that signal
    assert ingress.terminate(grace=60) in (0, -signal.SIGTERM)
    for thread in threads:
        thread.join(timeout=120)
    assert not other, other[:5]
    assert "ingress stopped" in ingress.log_text()
    assert {ce.get_id() for ce in bridge_events(embedded_url)} >= set(accepted)
