"""``@function`` registers into an explicit registry and validates options up front."""

from __future__ import annotations

import random
from typing import Any

import pytest

from worker_runtime import (
    RegistrationError,
    Registry,
    Retry,
    UnknownFunction,
    current_registry,
    function,
    use_registry,
)


def handler(event: Any) -> None:
    return None


def test_decorator_returns_the_function_unchanged(registry: Registry) -> None:
    decorated = function("resize-image", subscribe=[{"exact": {"type": "t"}}])(handler)
    assert decorated is handler
    spec = registry.get("resize-image")
    assert spec.handler is handler
    assert spec.queue == "eventfn.fn.resize-image"
    assert spec.dead_letter_queue == "eventfn.fn.resize-image.dlq"
    assert spec.subscribe == ({"exact": {"type": "t"}},)


def test_duplicate_name_is_an_error(registry: Registry) -> None:
    function("dup")(handler)
    with pytest.raises(RegistrationError, match="already registered"):
        function("dup")(lambda event: None)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1}, "timeout"),
        ({"concurrency": 0}, "concurrency"),
        ({"subscribe": 5}, "subscribe|not iterable"),
    ],
)
def test_invalid_options_are_refused_at_registration(
    registry: Registry, kwargs: dict[str, Any], problem: str
) -> None:
    with pytest.raises((RegistrationError, TypeError), match=problem):
        function("bad", **kwargs)(handler)
    assert "bad" not in registry


@pytest.mark.parametrize("name", ["Upper", "under_score", "-lead", "x" * 64, ""])
def test_names_must_be_dns_labels(registry: Registry, name: str) -> None:
    with pytest.raises(RegistrationError, match="DNS-1123"):
        function(name)(handler)


def test_unknown_function_names_the_known_ones(registry: Registry) -> None:
    function("known")(handler)
    with pytest.raises(UnknownFunction, match="known") as info:
        registry.get("missing")
    assert isinstance(info.value, LookupError)
    assert info.value.name == "missing"


def test_use_registry_isolates_and_restores() -> None:
    outer = current_registry()
    with use_registry() as inner:
        function("only-inside")(handler)
        assert "only-inside" in inner
    assert "only-inside" not in outer
    assert current_registry() is outer


def test_async_handlers_are_recognised(registry: Registry) -> None:
    async def coro(event: Any) -> None:
        return None

    function("async-one")(coro)
    assert registry.get("async-one").is_async
    function("sync-one")(handler)
    assert not registry.get("sync-one").is_async


def test_retry_policy_validation_and_backoff() -> None:
    with pytest.raises(ValueError, match="max_delay"):
        Retry(delay=10, max_delay=1)
    with pytest.raises(ValueError, match="max_attempts"):
        Retry(max_attempts=0)
    exp = Retry(backoff="exponential", delay=1.0, max_delay=5.0, jitter=0)
    assert [exp.delay_before(a) for a in (2, 3, 4, 5, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    lin = Retry(backoff="linear", delay=2.0, max_delay=7.0, jitter=0)
    assert [lin.delay_before(a) for a in (2, 3, 4, 5)] == [2.0, 4.0, 6.0, 7.0]
    jittered = Retry(delay=10.0, max_delay=100.0, jitter=0.5)
    rng = random.Random(7)
    samples = [jittered.delay_before(2, rng) for _ in range(200)]
    assert min(samples) >= 5.0
    assert max(samples) <= 15.0
    assert len(set(samples)) > 100


@pytest.mark.parametrize(
    ("subscribe", "expected"),
    [
        (
            [{"sql": "type = 'a' AND lang <> "}],
            "@function('broken'): invalid filter at subscribe[0].sql: unexpected end of expression",
        ),
        (
            [{"exact": {"type": "a"}}, {"exakt": {"type": "a"}}],
            "@function('broken'): invalid filter at subscribe[1]: unknown dialect 'exakt'",
        ),
        (
            [{"all": [{"exact": {"type": "a"}}, {"prefix": {"type": 3}}]}],
            "@function('broken'): invalid filter at subscribe[0].all[1].prefix.type:",
        ),
        (
            {"exact": {"type": "a"}},
            "@function('broken'): subscribe must be a list of filters, got a dict; "
            "write subscribe=[{'exact': {'type': 'a'}}]",
        ),
        ("type = 'a'", "@function('broken'): subscribe must be a list of filters, got str"),
        (["x"], "@function('broken'): subscribe[0] must be a filter mapping"),
    ],
)
def test_subscriptions_are_compiled_at_registration(subscribe, expected):
    registry = Registry()
    with pytest.raises(RegistrationError) as caught:
        function("broken", subscribe=subscribe, registry=registry)(lambda event: None)
    assert str(caught.value).startswith(expected)
    assert "broken" not in registry
