"""A fixed corpus of malicious requests against a real ``eventfn ingress`` process.

Raw bytes over a loopback socket (so that malformed HTTP reaches the server as
sent): huge and numerous headers, deep JSON nesting, invalid UTF-8, CR/LF/NUL
header injection, a 100,000-event batch, pickle, wrong and conflicting
Content-Length, request smuggling, bad tokens... Each must get its 4xx, nothing
of it may reach the broker, the process must survive, log no bug and never its
token or broker password, and its memory must stay bounded over three rounds.
"""

from __future__ import annotations

import itertools
import json
import select
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from rel_functions import PLAIN
from rel_support import Broker, Pipeline, alive, depth, event, ingress_url, rss_kib

from broker_bridge import topology

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(600)]

TOKEN = "rel-token-9f4c2e1b7d"
ROUNDS = 3
#: Allowed response headers: nothing from a request is ever echoed as a header.
RESPONSE_HEADERS = {
    "date",
    "content-type",
    "content-length",
    "connection",
    "www-authenticate",
    "retry-after",
    "allow",
}
STRUCTURED = "Content-Type: application/cloudevents+json"
BATCH = "Content-Type: application/cloudevents-batch+json"
BINARY = ["ce-specversion: 1.0", "ce-id: b-1", "ce-source: /hostile", "ce-type: " + PLAIN]


def _event(**extra: Any) -> dict[str, Any]:
    return {"specversion": "1.0", "id": "h-1", "source": "/hostile", "type": PLAIN, **extra}


def _request(
    body: bytes = b"",
    headers: list[str | bytes] | None = None,
    *,
    method: str = "POST",
    path: str = "/",
    length: bool = True,
    token: bool = True,
) -> bytes:
    lines: list[bytes] = [f"{method} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1"]
    if token:
        lines.append(f"Authorization: Bearer {TOKEN}".encode())
    for header in headers or []:
        lines.append(header if isinstance(header, bytes) else header.encode())
    if length:
        lines.append(f"Content-Length: {len(body)}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _deep(depth_: int) -> bytes:
    return json.dumps(_event()).encode()[:-1] + b',"data":' + b"[" * depth_ + b"]" * depth_ + b"}"


def _batch(count: int) -> bytes:
    return json.dumps([_event(id=f"b{i}") for i in range(count)]).encode()


_JSON = json.dumps(_event()).encode()
_PICKLE = b"\x80\x04\x95\x15\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94\x8c\x06system\x94\x93\x94."

#: name -> (raw request, statuses accepted as the right answer, half-close after sending)
CORPUS: dict[str, tuple[bytes, set[int | None], bool]] = {
    "huge-header-16MiB": (
        _request(_JSON, [STRUCTURED, "X-Big: " + "a" * (16 << 20)]),
        {431},
        False,
    ),
    # 50 KB is within the 64 KiB head bound: the app answers (401: no token)
    "50KB-header-within-bound": (
        _request(_JSON, [STRUCTURED, "X-Pad: " + "p" * 50_000], token=False),
        {401},
        False,
    ),
    "huge-ce-header": (_request(b"x", [*BINARY[:3], "ce-type: " + "t" * 200_000]), {431}, False),
    "20k-headers": (
        _request(_JSON, [STRUCTURED] + [f"X-H{i}: v" for i in range(20_000)]),
        {431},
        False,
    ),
    "deep-json-array": (_request(b"[" * 300_000 + b"]" * 300_000, [STRUCTURED]), {400}, False),
    "deep-json-object": (
        _request(b'{"a":' * 100_000 + b"1" + b"}" * 100_000, [STRUCTURED]),
        {400},
        False,
    ),
    "deep-data": (_request(_deep(100_000), [STRUCTURED]), {400}, False),
    "invalid-utf8-body": (
        _request(b'{"specversion":"1.0","id":"\xff\xfe","source":"/","type":"t"}', [STRUCTURED]),
        {400},
        False,
    ),
    "invalid-utf8-header": (
        _request(
            b"x",
            [
                "Content-Type: text/plain",
                "ce-specversion: 1.0",
                b"ce-id: \xff\xfe",
                "ce-source: /s",
                "ce-type: t",
            ],
        ),
        {400},
        False,
    ),
    "crlf-percent-encoded": (
        _request(
            b"x", ["Content-Type: text/plain", *BINARY[:3], "ce-type: a%0D%0ASet-Cookie:%20pwned=1"]
        ),
        {400},
        False,
    ),
    "bare-cr-in-header": (_request(b"x", [*BINARY[:3], "ce-type: a\rX-Injected: 1"]), {400}, False),
    "bare-lf-in-header": (_request(b"x", [*BINARY[:3], "ce-type: a\nX-Injected: 1"]), {400}, False),
    "nul-in-header": (_request(b"x", [*BINARY[:3], "ce-type: a\x00b"]), {400}, False),
    "control-char-attribute": (
        _request(json.dumps(_event(subject="a\u0007b")).encode(), [STRUCTURED]),
        {400},
        False,
    ),
    "batch-100k-events": (_request(_batch(100_000), [BATCH]), {413}, False),
    "batch-15k-events-under-1MiB": (_request(_batch(15_000), [BATCH]), {413}, False),
    "pickle-content-type": (
        _request(_PICKLE, ["Content-Type: application/x-python-serialize"]),
        {415},
        False,
    ),
    "pickle-binary-mode": (
        _request(_PICKLE, ["Content-Type: application/x-python-serialize", *BINARY]),
        {415},
        False,
    ),
    "pickle-structured-data": (
        _request(
            json.dumps(
                _event(datacontenttype="application/x-python-serialize", data_base64="gARLAS4=")
            ).encode(),
            [STRUCTURED],
        ),
        {415},
        False,
    ),
    "pickle-to-function": (
        _request(
            _PICKLE,
            ["Content-Type: application/x-python-serialize; protocol=4", *BINARY],
            path="/functions/rel-plain",
        ),
        {415},
        False,
    ),
    "content-length-10GB": (
        _request(b"", [STRUCTURED, "Content-Length: 10000000000"], length=False),
        {413},
        False,
    ),
    "content-length-not-a-number": (
        _request(b"{}", [STRUCTURED, "Content-Length: 1e3"], length=False),
        {400},
        False,
    ),
    "content-length-negative": (
        _request(b"{}", [STRUCTURED, "Content-Length: -5"], length=False),
        {400},
        False,
    ),
    "content-length-conflicting": (
        _request(
            _JSON, [STRUCTURED, f"Content-Length: {len(_JSON)}", "Content-Length: 3"], length=False
        ),
        {400},
        False,
    ),
    "smuggling-cl-and-chunked": (
        _request(
            b"2\r\n{}\r\n0\r\n\r\n",
            [STRUCTURED, "Content-Length: 4", "Transfer-Encoding: chunked"],
            length=False,
        ),
        {400},
        False,
    ),
    "content-length-too-short": (
        _request(_JSON, [STRUCTURED, "Content-Length: 10"], length=False),
        {400},
        False,
    ),
    "content-length-too-long": (
        _request(_JSON, [STRUCTURED, f"Content-Length: {len(_JSON) + 100}"], length=False),
        {400, None},  # the client half-closes: the server may only close in turn
        True,
    ),
    "chunked-over-limit": (
        _request(
            b"".join(b"10000\r\n" + b"a" * 65536 + b"\r\n" for _ in range(40)) + b"0\r\n\r\n",
            [STRUCTURED, "Transfer-Encoding: chunked"],
            length=False,
        ),
        {413},
        False,
    ),
    "no-token": (_request(_JSON, [STRUCTURED], token=False), {401}, False),
    "wrong-token": (
        _request(_JSON, [STRUCTURED, "Authorization: Bearer rel-token-9f4c2e1b7e"], token=False),
        {401},
        False,
    ),
    "basic-auth": (
        _request(_JSON, [STRUCTURED, "Authorization: Basic cmVsOnRva2Vu"], token=False),
        {401},
        False,
    ),
    "non-ascii-token": (
        _request(_JSON, [STRUCTURED, b"Authorization: Bearer rel-t\xf6ken"], token=False),
        {401},
        False,
    ),
    "token-prefix": (
        _request(_JSON, [STRUCTURED, f"Authorization: Bearer {TOKEN[:-1]}"], token=False),
        {401},
        False,
    ),
    "unknown-function": (_request(_JSON, [STRUCTURED], path="/functions/nope"), {404}, False),
    "path-traversal": (
        _request(_JSON, [STRUCTURED], path="/functions/../../etc/passwd"),
        {404},
        False,
    ),
    "nul-in-path": (_request(_JSON, [STRUCTURED], path="/functions/rel-plain%00"), {404}, False),
    "long-url": (_request(_JSON, [STRUCTURED], path="/" + "a" * 100_000), {400, 414, 431}, False),
    "get-on-post-route": (_request(method="GET"), {405}, False),
    "xml-event-format": (
        _request(b"<event/>", ["Content-Type: application/cloudevents+xml"]),
        {415},
        False,
    ),
    "latin-1-charset": (
        _request(_JSON, ["Content-Type: application/cloudevents+json; charset=latin-1"]),
        {415},
        False,
    ),
    "number-out-of-range": (_request(_JSON[:-1] + b',"data":1e999}', [STRUCTURED]), {400}, False),
    "nan-literal": (_request(_JSON[:-1] + b',"data":NaN}', [STRUCTURED]), {400}, False),
    "100k-digit-integer": (
        _request(_JSON[:-1] + b',"data":' + b"9" * 100_000 + b"}", [STRUCTURED]),
        {400},
        False,
    ),
    "batch-of-non-objects": (_request(b"[1,2,3]", [BATCH]), {400}, False),
    "batch-to-function": (_request(_batch(2), [BATCH], path="/functions/rel-plain"), {400}, False),
    "empty-structured-body": (_request(b"", [STRUCTURED]), {400}, False),
    "binary-without-specversion": (_request(b"x", BINARY[1:]), {400}, False),
    "invalid-header-name": (_request(_JSON, [STRUCTURED, "ce id: x"]), {400}, False),
    "garbage-request-line": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 50, {400}, False),
}


def _send(port: int, data: bytes, half_close: bool) -> tuple[int | None, dict[str, str]]:
    """Send ``data`` (stopping early if the server already answers), read the answer:
    (status, headers), or (None, {}) if the server closed without one."""
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        try:
            for start in range(0, len(data), 16384):
                sock.sendall(data[start : start + 16384])
                if select.select([sock], [], [], 0)[0]:
                    break  # answered before the request ended (413, 431...)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        received = b""
        try:
            while b"\r\n\r\n" not in received:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        except ConnectionResetError:
            pass
    if b"\r\n\r\n" not in received:
        return None, {}
    head = received.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(head[0].split()[1]), headers


def test_malicious_requests_get_4xx_and_leave_the_ingress_healthy(
    rel_broker: Broker, tmp_path: Path
) -> None:
    pipe = Pipeline(tmp_path, rel_broker.vhost(), {"EVENTFN_INGRESS_TOKEN": TOKEN})
    try:
        ingress = pipe.start("ingress", name="ingress")
        url = ingress_url(ingress)
        port = int(url.rsplit(":", 1)[1])
        auth = {"authorization": f"Bearer {TOKEN}"}
        good = 0
        with httpx.Client(base_url=url, timeout=60, headers=auth) as http:
            for i in range(30):  # warm up: allocations of a normal workload come first
                response = http.post(
                    "/",
                    json=event(PLAIN, f"warm-{i}"),
                    headers={"content-type": "application/cloudevents+json"},
                )
                assert response.status_code == 202
                good += 1
        rss = [rss_kib(ingress.pid)]
        answers: dict[str, int | None] = {}
        for _ in range(ROUNDS):
            for name, (data, expected, half_close) in CORPUS.items():
                status, headers = _send(port, data, half_close)
                answers[name] = status
                assert status in expected, f"{name}: answered {status}, expected {expected}"
                assert set(headers) <= RESPONSE_HEADERS, f"{name}: echoed {set(headers)}"
                assert alive(ingress), f"the ingress died on {name}"
            rss.append(rss_kib(ingress.pid))
        with httpx.Client(base_url=url, timeout=60, headers=auth) as http:
            assert http.get("/healthz").status_code == 200
            response = http.post(
                "/",
                json=event(PLAIN, "after"),
                headers={"content-type": "application/cloudevents+json"},
            )
            assert response.status_code == 202
            good += 1
        # nothing of the corpus reached the broker: only the good events are queued
        assert depth(pipe.url, topology.BRIDGE_QUEUE) == good
    finally:
        pipe.close()
    log = ingress.log_text()
    assert "ingress bug" not in log
    assert "Exception in ASGI application" not in log
    assert TOKEN not in log, "the ingress token appears in the log"
    pipe.assert_secret_never_logged()
    growth = [after - before for before, after in itertools.pairwise(rss)]
    print(f"ingress RSS KiB per round: {rss}; growth {growth}; answers {answers}")
    # the first round may allocate caches; later rounds must not grow the process
    assert rss[-1] - rss[1] <= 16 * 1024, f"ingress RSS grows per round: {rss}"
    assert rss[-1] - rss[0] <= 96 * 1024, f"ingress RSS grew by more than 96 MiB: {rss}"
