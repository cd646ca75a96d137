"""The ingress's pieces without a broker: problem details, token check, app with fakes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
import pytest
from cloudevents.core.base import BaseCloudEvent
from pydantic import SecretStr

from broker_bridge.config import Settings
from broker_bridge.errors import PublishError
from broker_bridge.ingress import create_app
from broker_bridge.ingress.auth import TokenCheck
from broker_bridge.ingress.problems import INVALID_EVENT, invalid_event, problem_response
from broker_bridge.invalid import InvalidEventError

EVENT = b'{"specversion": "1.0", "id": "1", "source": "/s", "type": "t"}'
STRUCTURED = {"content-type": "application/cloudevents+json"}


class FakePublisher:
    """The one-seam test double of the ingress's publisher."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.fail = fail
        self.published: list[BaseCloudEvent] = []
        self.direct: list[tuple[str, BaseCloudEvent]] = []
        self.closed = False

    async def publish_many(self, events: Sequence[BaseCloudEvent]) -> Sequence[BaseCloudEvent]:
        if self.fail:
            raise self.fail
        self.published.extend(events)
        return events

    async def publish_to_function(self, function: str, event: BaseCloudEvent) -> BaseCloudEvent:
        if self.fail:
            raise self.fail
        self.direct.append((function, event))
        return event

    async def ready(self) -> bool:
        return self.fail is None

    async def aclose(self) -> None:
        self.closed = True


def _app(publisher: FakePublisher, functions: Any = None, **settings: Any) -> Any:
    lookup = functions or (lambda name: name == "known")
    return create_app(publisher, Settings(**settings), functions=lookup)


def _exchange(app: Any, talk: Callable[[httpx.AsyncClient], Awaitable[None]]) -> None:
    """Run the app's lifespan around ``talk`` with an in-process httpx client."""

    async def main() -> None:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://ingress") as client,
        ):
            await talk(client)

    asyncio.run(main())


def test_problem_body_follows_rfc_9457() -> None:
    response = problem_response(INVALID_EVENT, "what is wrong", extra=1)
    assert response.status_code == 400
    assert response.media_type == "application/problem+json"
    assert response.body.startswith(b'{"type": "urn:eventfn:problem:invalid-event"')


def test_batch_problems_are_grouped_by_index() -> None:
    error = InvalidEventError(
        {"[3].id": ["missing"], "[0]": ["not an object"], "[3].time": ["bad"]}
    )
    response = invalid_event(error, batch=True)
    body = json.loads(response.body)
    assert body["errors"] == [
        {"index": 0, "reasons": ["not an object"]},
        {"index": 3, "reasons": ["id: missing", "time: bad"]},
    ]
    assert {p["name"] for p in body["invalid-params"]} == {"[3].id", "[0]", "[3].time"}


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (None, "requires"),
        ("", "requires"),
        ("Bearer", "Bearer scheme"),
        ("Basic abc", "Bearer scheme"),
        ("Bearer wrong", "not valid"),
        ("Bearer tok", None),
        ("bearer   tok ", None),
    ],
)
def test_token_check(header: str | None, problem: str | None) -> None:
    result = TokenCheck(SecretStr("tok")).problem(header)
    if problem is None:
        assert result is None
    else:
        assert result is not None
        assert problem in result


def test_no_token_configured_lets_everything_pass() -> None:
    check = TokenCheck(None)
    assert not check.enabled
    assert check.problem(None) is None


def test_accepted_events_reach_the_publisher() -> None:
    publisher = FakePublisher()

    async def talk(client: httpx.AsyncClient) -> None:
        assert (await client.post("/", headers=STRUCTURED, content=EVENT)).status_code == 202
        direct = await client.post("/functions/known", headers=STRUCTURED, content=EVENT)
        assert direct.status_code == 202

    _exchange(_app(publisher), talk)
    assert [ce.get_id() for ce in publisher.published] == ["1"]
    assert [name for name, _ in publisher.direct] == ["known"]
    assert publisher.closed, "the app's shutdown closes the publisher"


def test_a_publish_error_is_a_503_with_retry_after_never_a_202() -> None:
    publisher = FakePublisher(fail=PublishError("no confirm"))

    async def talk(client: httpx.AsyncClient) -> None:
        for path in ("/", "/functions/known"):
            response = await client.post(path, headers=STRUCTURED, content=EVENT)
            assert response.status_code == 503
            assert response.headers["retry-after"] == "3"
            assert "no confirm" in response.json()["detail"]
        assert (await client.get("/readyz")).status_code == 503

    _exchange(_app(publisher, ingress_retry_after=3), talk)


def test_a_bug_is_a_500_problem_and_the_app_keeps_serving() -> None:
    async def talk(client: httpx.AsyncClient) -> None:
        response = await client.post("/", headers=STRUCTURED, content=EVENT)
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
        assert "RuntimeError" in response.json()["detail"]
        assert (await client.get("/healthz")).status_code == 200

    _exchange(_app(FakePublisher(fail=RuntimeError("boom"))), talk)


def test_a_failing_function_lookup_means_unknown() -> None:
    def lookup(name: str) -> bool:
        raise LookupError(name)

    async def talk(client: httpx.AsyncClient) -> None:
        response = await client.post("/functions/x", headers=STRUCTURED, content=EVENT)
        assert response.status_code == 404

    _exchange(_app(FakePublisher(), functions=lookup), talk)


def test_a_set_of_names_is_a_lookup_too() -> None:
    publisher = FakePublisher()

    async def talk(client: httpx.AsyncClient) -> None:
        ok = await client.post("/functions/a", headers=STRUCTURED, content=EVENT)
        assert ok.status_code == 202
        missing = await client.post("/functions/b", headers=STRUCTURED, content=EVENT)
        assert missing.status_code == 404

    _exchange(create_app(publisher, Settings(), functions={"a"}), talk)
