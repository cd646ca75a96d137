"""Deadlines derived from a function's timeout; the state store contract."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from worker_runtime import Retry
from worker_runtime.deadlines import (
    ack_deadline,
    hard_timeout,
    rabbitmq_problem,
    transport_overrides,
)
from worker_runtime.registry import FunctionSpec
from worker_runtime.state import Claim, MemoryStore, open_store, store_url_for


def spec(timeout: float, **options: Any) -> FunctionSpec:
    return FunctionSpec(name="f", handler=lambda e: None, timeout=timeout, **options)


def test_hard_timeout_adds_ten_percent_between_one_and_thirty_seconds() -> None:
    assert hard_timeout(spec(2)) == 3
    assert hard_timeout(spec(100)) == 110
    assert hard_timeout(spec(3600)) == 3630


def test_ack_deadline_covers_waiting_a_retry_delay_and_running() -> None:
    s = spec(30, retry=Retry(max_attempts=3, delay=1, max_delay=60))
    assert ack_deadline(s) == 2 * 33 + 60 + 5
    assert ack_deadline(spec(30, retry=Retry(max_attempts=1))) == 2 * 33 + 5


def test_visibility_timeout_is_the_functions_deadline_on_virtual_transports() -> None:
    s = spec(600)
    redis = transport_overrides("redis://x/0", {"visibility_timeout": 300}, [s])
    assert redis["visibility_timeout"] == ack_deadline(s)
    assert redis["unacked_restore_throttle"] == 1
    assert transport_overrides("sqlite://localhost/x", {}, [s])["visibility_timeout"] > 1200
    assert "visibility_timeout" not in transport_overrides("amqp://x//", {}, [s])


def test_rabbitmq_consumer_timeout_must_cover_the_deadline() -> None:
    assert rabbitmq_problem(spec(30), 1800) is None
    problem = rabbitmq_problem(spec(3600), 1800)
    assert problem is not None
    assert "consumer_timeout is 1800s" in problem


def test_store_url_defaults(tmp_path: Path) -> None:
    assert store_url_for("redis://s/1", "amqp://x//", tmp_path) == "redis://s/1"
    assert store_url_for(None, "redis://b/2", tmp_path) == "redis://b/2"
    assert store_url_for(None, "sqlite://localhost/var/q/broker.db", tmp_path) == (
        "sqlite://localhost/var/q/worker-state.db"
    )
    assert store_url_for(None, "amqp://x//", tmp_path).endswith("worker-state.db")


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "memory":
        yield MemoryStore()
        return
    opened = open_store(f"sqlite://localhost/{tmp_path / 'state.db'}")
    yield opened
    opened.close()


def test_store_claim_complete_release(store: Any) -> None:
    assert store.claim("k", "a", 60) is Claim.CLAIMED
    assert store.claim("k", "b", 60) is Claim.RUNNING
    store.release("k", "b")  # not the holder: no effect
    assert store.claim("k", "b", 60) is Claim.RUNNING
    store.release("k", "a")
    assert store.claim("k", "b", 60) is Claim.CLAIMED
    store.complete("k", 60)
    assert store.claim("k", "c", 60) is Claim.DONE


def test_store_leases_and_markers_expire(store: Any) -> None:
    assert store.claim("k", "a", 0.05) is Claim.CLAIMED
    assert store.mark_if_absent("m", 0.05)
    assert not store.mark_if_absent("m", 0.05)
    time.sleep(0.1)  # an expiry test: the TTL is the thing under test
    assert store.claim("k", "b", 60) is Claim.CLAIMED
    assert store.mark_if_absent("m", 60)


def test_short_handlers_prefetch_ahead_and_their_deadline_covers_it() -> None:
    from worker_runtime.deadlines import prefetch_multiplier

    short, long_ = spec(30), spec(600)
    assert prefetch_multiplier(short, 4) == 4
    assert prefetch_multiplier(long_, 4) == 1, "long handlers must not hoard messages"
    # four messages ahead in the slot, each up to a hard timeout, then its own run
    assert ack_deadline(short, 4) == 5 * 33 + 60 + 5
    redis = transport_overrides("redis://x/0", {}, [short], multiplier=4)
    assert redis["visibility_timeout"] == ack_deadline(short, 4)
    assert rabbitmq_problem(short, 1800, 4) is None
    assert rabbitmq_problem(spec(1000), 1800, 4) is not None
