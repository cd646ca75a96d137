"""Property-based fuzzing (hypothesis) of the two doors hostile input comes through.

* The ingress app, in process (httpx ``ASGITransport``) over a real AsyncPublisher
  on the private node: any POST gets 202 or a 4xx problem+json, never a 5xx, never
  an echoed header; with a token configured nothing passes without it.
* The bridge's input decoder ``decide(...)`` with a real routing table: any AMQP
  message (body, headers of every AMQP type, content type, encoding) is routed,
  kept as unmatched or dead-lettered with its bytes unchanged and the reason; it
  never raises (a raise would stall the bridge on a poison message forever).

Bounded: a fixed number of examples, no deadline (a shared 2-core CI machine).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rel_functions import IDEM, PLAIN
from rel_support import Broker

from broker_bridge import topology
from broker_bridge.aio import AsyncPublisher
from broker_bridge.bridge.decision import Kind, decide
from broker_bridge.config import Settings
from broker_bridge.formats.json import from_json
from broker_bridge.ingress.app import create_app
from broker_bridge.routing import RoutingTable
from broker_bridge.subscriptions import SubscriptionTable

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(600)]

TOKEN = "fuzz-token-5d1e"
FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PROBLEM_HEADERS = {"content-type", "content-length", "www-authenticate", "retry-after", "allow"}

# -- strategies ------------------------------------------------------------------------------
ATTRIBUTES = [
    "specversion",
    "id",
    "source",
    "type",
    "subject",
    "time",
    "datacontenttype",
    "dataschema",
    "data",
    "data_base64",
    "eventfnhops",
    "traceparent",
    "x",
    "Bad-Name",
]
HOSTILE_TEXT = st.sampled_from(
    [
        "",
        "\x00",
        "\r\n",
        "\ud800",
        "a" * 5000,
        "1.0",
        "0.3",
        "%0D%0A",
        "🚀",
        "null",
        "\u202e",
        "application/x-python-serialize",
        "application/cloudevents+json",
        "2024-13-45T99:99:99Z",
    ]
)
TEXT = st.one_of(st.text(max_size=30), HOSTILE_TEXT)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
MEDIA_TYPES = st.one_of(
    st.sampled_from(
        [
            "application/cloudevents+json",
            "application/cloudevents+json; charset=utf-8",
            "application/cloudevents+json; charset=latin-1",
            "application/cloudevents-batch+json",
            "application/cloudevents+xml",
            "application/json",
            "text/plain; charset=utf-8",
            "application/octet-stream",
            "application/x-python-serialize",
            "application/data",
            "multipart/form-data; boundary=x",
            "",
            ";;;",
        ]
    ),
    TEXT,
)
#: Raw JSON fragments json.dumps cannot produce.
RAW_LITERALS = st.sampled_from(
    [
        "1e999",
        "-1e999",
        "NaN",
        "Infinity",
        "9" * 5000,
        "[" * 5000 + "]" * 5000,
        '"\\ud800"',
        '"\\u0000"',
        "{}",
        "[]",
        '"x"',
        "1.0e-400",
    ]
)


@st.composite
def event_dicts(draw: st.DrawFn) -> dict[str, Any]:
    base: dict[str, Any] = {
        "specversion": "1.0",
        "id": draw(st.text(min_size=1, max_size=12)),
        "source": "/fuzz",
        "type": draw(st.sampled_from([PLAIN, IDEM, "com.example.other"])),
    }
    for name in draw(st.lists(st.sampled_from(ATTRIBUTES), max_size=5)):
        base[name] = draw(JSON_VALUES)
    return base


@st.composite
def structured_bodies(draw: st.DrawFn) -> bytes:
    """A structured event (or batch) as JSON text, sometimes with a raw literal spliced in."""
    value: Any = draw(st.one_of(event_dicts(), st.lists(event_dicts(), max_size=4), JSON_VALUES))
    text = json.dumps(value)
    if draw(st.booleans()) and text.endswith("}"):
        text = text[:-1] + (", " if len(text) > 2 else "") + '"data":' + draw(RAW_LITERALS) + "}"
    return text.encode("utf-8", "surrogatepass")


BODIES = st.one_of(structured_bodies(), st.binary(max_size=300))


@st.composite
def ce_headers(draw: st.DrawFn) -> dict[str, str]:
    """Binary-mode headers: mostly a valid set, then mutated."""
    headers = {
        "ce-specversion": "1.0",
        "ce-id": draw(st.text(min_size=1, max_size=10).filter(_latin1_safe)),
        "ce-source": "/fuzz",
        "ce-type": draw(st.sampled_from([PLAIN, IDEM, "other"])),
    }
    for _ in range(draw(st.integers(0, 3))):
        name = "ce-" + draw(st.sampled_from(ATTRIBUTES)).lower()
        headers[name] = draw(st.text(max_size=20).filter(_latin1_safe))
    if draw(st.booleans()):
        headers.pop(draw(st.sampled_from(sorted(headers))))
    return headers


def _latin1_safe(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return "\r" not in text and "\n" not in text and "\x00" not in text


# -- the ingress app ----------------------------------------------------------------------------
class AppUnderTest:
    """The ingress app on a real broker, driven from one event loop."""

    def __init__(self, url: str, token: str | None) -> None:
        self.loop = asyncio.new_event_loop()
        config = Settings(broker_url=url, ingress_token=token, ingress_max_batch=3)
        publisher = AsyncPublisher(url, settings=config)
        app = create_app(publisher, config, functions={"rel-plain"})
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ingress"
        )
        self.publisher = publisher

    def post(self, path: str, headers: dict[str, str], body: bytes) -> httpx.Response:
        raw = {name: value.encode("latin-1") for name, value in headers.items()}
        return self.loop.run_until_complete(self.client.post(path, headers=raw, content=body))

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.run_until_complete(self.publisher.aclose())
        self.loop.close()


@pytest.fixture(scope="module")
def open_app(rel_broker: Broker) -> Iterator[AppUnderTest]:
    app = AppUnderTest(rel_broker.vhost(), None)
    yield app
    app.close()


@pytest.fixture(scope="module")
def guarded_app(rel_broker: Broker) -> Iterator[AppUnderTest]:
    app = AppUnderTest(rel_broker.vhost(), TOKEN)
    yield app
    app.close()


def _check_answer(response: httpx.Response) -> None:
    assert response.status_code in {202, 400, 401, 404, 413, 415}, response.text
    if response.status_code == 202:
        assert set(response.json()) == {"accepted"}
        return
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == response.status_code
    assert problem["type"].startswith("urn:eventfn:problem:")
    assert set(response.headers) <= PROBLEM_HEADERS, set(response.headers)


@FUZZ
@given(
    path=st.sampled_from(["/", "/", "/functions/rel-plain", "/functions/nope"]),
    content_type=st.one_of(st.none(), MEDIA_TYPES.filter(_latin1_safe)),
    extra=st.one_of(st.just({}), ce_headers()),
    body=BODIES,
)
# found by this test: a number out of a double's range was a 500 (ingress bug)
@example(
    path="/",
    content_type="application/cloudevents+json",
    extra={},
    body=b'{"specversion":"1.0","id":"1","source":"/s","type":"t","data":1e999}',
)
def test_fuzzed_posts_get_202_or_a_4xx_problem(
    open_app: AppUnderTest, path: str, content_type: str | None, extra: dict[str, str], body: bytes
) -> None:
    headers = dict(extra)
    if content_type is not None:
        headers["content-type"] = content_type
    _check_answer(open_app.post(path, headers, body))


@FUZZ
@given(
    authorization=st.one_of(
        st.none(),
        st.text(max_size=40).filter(_latin1_safe),
        st.sampled_from(
            [
                f"Bearer {TOKEN[:-1]}",
                f"bearer {TOKEN}x",
                f"Basic {TOKEN}",
                f"Bearer  {TOKEN} extra",
                TOKEN,
                "Bearer",
            ]
        ),
    ),
    body=structured_bodies(),
)
def test_without_the_token_nothing_passes(
    guarded_app: AppUnderTest, authorization: str | None, body: bytes
) -> None:
    headers = {"content-type": "application/cloudevents+json"}
    if authorization is not None:
        headers["authorization"] = authorization
    response = guarded_app.post("/", headers, body)
    assert response.status_code == 401, (authorization, response.status_code)
    assert response.headers["www-authenticate"] == 'Bearer realm="eventfn"'
    good = guarded_app.post("/", {**headers, "authorization": f"Bearer {TOKEN}"}, body)
    _check_answer(good)
    assert good.status_code != 401


# -- the bridge's decoder -----------------------------------------------------------------------
ROUTER = RoutingTable.from_subscriptions(
    SubscriptionTable.model_validate(
        {
            "subscriptions": [
                {"function": "rel-plain", "filters": [{"exact": {"type": PLAIN}}]},
                {"function": "rel-idem", "filters": [{"prefix": {"type": "com.example.rel."}}]},
                {"function": "rel-poison", "filters": [{"sql": "subject LIKE 'a%' OR x = 3"}]},
            ]
        }
    )
).route
AMQP_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@st.composite
def amqp_headers(draw: st.DrawFn) -> dict[str, Any] | None:
    if draw(st.integers(0, 9)) == 0:
        return None
    headers: dict[str, Any] = {}
    if draw(st.booleans()):
        headers.update(
            {"ce-specversion": "1.0", "ce-id": "f-1", "ce-source": "/fuzz", "ce-type": PLAIN}
        )
    for _ in range(draw(st.integers(0, 4))):
        name = draw(
            st.one_of(
                st.sampled_from(ATTRIBUTES).map(lambda a: "ce-" + a.lower()), st.text(max_size=10)
            )
        )
        headers[name] = draw(AMQP_VALUES)
    return headers


@FUZZ
@given(
    body=BODIES,
    headers=amqp_headers(),
    content_type=st.one_of(st.none(), MEDIA_TYPES, st.binary(max_size=10), st.integers()),
    content_encoding=st.one_of(st.none(), st.sampled_from(["utf-8", "binary", "gzip"]), TEXT),
)
# found by this test: decide() raised on it, and the bridge redelivered it forever
@example(
    body=b"1e999",
    headers={"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": PLAIN},
    content_type="application/json",
    content_encoding=None,
)
def test_the_bridge_decoder_routes_keeps_or_dead_letters_anything(
    body: bytes, headers: dict[str, Any] | None, content_type: Any, content_encoding: str | None
) -> None:
    decision = decide(
        body, headers, content_type, content_encoding, ROUTER, max_hops=16, keep_unmatched=True
    )
    if decision.kind is Kind.DEAD_LETTER:
        (letter,) = decision.outgoing
        assert letter.queue == topology.BRIDGE_DLQ
        assert letter.body == body, "a dead letter must carry the input unchanged"
        assert letter.headers["eventfnerror"]
        assert letter.headers["eventfnerrortype"]
        return
    if decision.kind is Kind.UNMATCHED:
        (kept,) = decision.outgoing
        assert kept.queue == topology.BRIDGE_UNROUTED
        assert kept.body == body
        return
    assert decision.kind is Kind.ROUTED
    assert decision.functions
    for out, function in zip(decision.outgoing, decision.functions, strict=True):
        assert out.queue == f"eventfn.fn.{function}"
        assert out.content_type == "application/json", "task messages are JSON, never pickle"
        (event_json,), _kwargs, _embed = json.loads(out.body)
        event = from_json(event_json)  # what the worker will read: a valid event
        assert event.get_id() == decision.attributes["id"]  # type: ignore[index]
        assert event.get_datacontenttype() != "application/x-python-serialize"
