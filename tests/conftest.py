"""Shared fixtures: brokers (embedded, RabbitMQ, Redis), the TCK folder, fresh registries.

Broker tests skip when their broker is down locally, but FAIL when ``CI=true``:
CI must never pass by skipping a broker test.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, settings
from kombu import Connection

from broker_bridge.logs import configure_logging
from broker_bridge.transport import sqlite
from worker_runtime.registry import Registry, use_registry
from worker_runtime.supervisor import pid_alive

REPO = Path(__file__).resolve().parent.parent
RABBITMQ_BASE_URL = os.environ.get(
    "EVENTFN_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//"
)
# A database of its own per test session (1-15; db 0 is left to developers), so that
# parallel runs do not flush each other's queues.
REDIS_BASE_URL = "redis://127.0.0.1:6379"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BROKER_MARKERS = ("rabbitmq", "redis", "broker")

configure_logging("console", "WARNING", force=True)

# Property tests check behaviour, not speed: on a busy 2-core CI machine example
# generation can be slow, which must not fail a run (benchmarks measure speed).
settings.register_profile("eventfn", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("eventfn")


def _session_vhost() -> str:
    """A RabbitMQ vhost of this test session (so parallel runs never share queues).

    Needs ``rabbitmqctl`` (root, as in CI); without it the base URL's vhost is used.
    """
    if "EVENTFN_TEST_RABBITMQ_URL" in os.environ or shutil.which("rabbitmqctl") is None:
        return RABBITMQ_BASE_URL
    vhost = f"eventfn-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    try:
        for args in (
            ["add_vhost", vhost],
            ["set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
        ):
            subprocess.run(
                ["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60
            )
    except (OSError, subprocess.SubprocessError):
        return RABBITMQ_BASE_URL
    atexit.register(
        subprocess.run,
        ["rabbitmqctl", "-q", "delete_vhost", vhost],
        capture_output=True,
        timeout=60,
        check=False,
    )
    parts = urlsplit(RABBITMQ_BASE_URL)
    return f"{parts.scheme}://{parts.netloc}/{vhost}"


_rabbitmq_url: str | None = None


def rabbitmq_session_url() -> str:
    global _rabbitmq_url  # noqa: PLW0603 - one vhost per test session, created lazily
    if _rabbitmq_url is None:
        _rabbitmq_url = _session_vhost()
    return _rabbitmq_url


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def require(available: bool, what: str) -> None:
    """Skip locally, fail in CI, when a real service the test needs is missing."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is not available and CI=true: broker tests must not be skipped")
    pytest.skip(f"{what} is not available")


def tck_dir() -> Path:
    override = os.environ.get("EVENTFN_TCK_DIR")
    path = Path(override) if override else REPO.parent / "shared" / "cloudevents-tck"
    if not path.is_dir():
        pytest.fail(f"CloudEvents TCK folder {path} is missing (set EVENTFN_TCK_DIR)")
    return path


def _clean_rabbitmq(url: str, queues: list[str]) -> None:
    with Connection(url) as conn:
        channel = conn.channel()
        for name in queues:
            try:
                channel.queue_delete(name)
            except Exception:
                channel = conn.channel()
        channel.close()


def _clean_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


_REDIS_DB: list[str] = []


def redis_session_url() -> str:
    """A Redis database (1-15) of this test session's own, claimed with a lock key.

    Parallel test sessions (several developers' or agents' runs on one machine) each
    flush their database between tests, so they must never share one. The claim is a
    ``SET NX`` key in db 0 holding our pid; a claim whose pid is gone is taken over.
    """
    if "EVENTFN_TEST_REDIS_URL" in os.environ:
        return os.environ["EVENTFN_TEST_REDIS_URL"]
    if _REDIS_DB:
        return _REDIS_DB[0]
    import redis

    client = redis.Redis.from_url(f"{REDIS_BASE_URL}/0")
    try:
        for db in range(1, 16):
            key = f"eventfn-tests:db:{db}"
            if not client.set(key, os.getpid(), nx=True, ex=6 * 3600):
                holder = int(client.get(key) or 0)
                if holder and pid_alive(holder):
                    continue
                client.set(key, os.getpid(), ex=6 * 3600)
            atexit.register(_release_redis_db, key)
            _REDIS_DB.append(f"{REDIS_BASE_URL}/{db}")
            return _REDIS_DB[0]
    finally:
        client.close()
    raise RuntimeError("all 15 Redis test databases are claimed by running test sessions")


def _release_redis_db(key: str) -> None:
    import redis

    client = redis.Redis.from_url(f"{REDIS_BASE_URL}/0")
    try:
        if int(client.get(key) or 0) == os.getpid():
            client.delete(key)
    finally:
        client.close()


class BrokerUnderTest:
    """A broker URL for one test, emptied of eventfn's queues first."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        self.url = url

    def reset(self, functions: list[str]) -> None:
        queues = [
            "eventfn.bridge",
            "eventfn.bridge.dlq",
            "eventfn.bridge.unrouted",
            "eventfn.activate",
        ]
        for name in functions:
            queues += [f"eventfn.fn.{name}", f"eventfn.fn.{name}.dlq", f"eventfn.fn.{name}.retry"]
        if self.kind == "rabbitmq":
            _clean_rabbitmq(self.url, queues)
        elif self.kind == "redis":
            _clean_redis(self.url)


@pytest.fixture(params=["embedded", "rabbitmq", "redis"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> BrokerUnderTest:
    """Each test using it runs three times: embedded SQLite, RabbitMQ, Redis."""
    kind = request.param
    if kind == "embedded":
        sqlite.register()
        return BrokerUnderTest(kind, f"sqlite://localhost/{tmp_path / 'state' / 'broker.db'}")
    if kind == "rabbitmq":
        require(_reachable("127.0.0.1", 5672), "RabbitMQ on 127.0.0.1:5672")
        return BrokerUnderTest(kind, rabbitmq_session_url())
    require(_reachable("127.0.0.1", 6379), "Redis on 127.0.0.1:6379")
    return BrokerUnderTest(kind, redis_session_url())


@pytest.fixture
def rabbitmq_url() -> str:
    require(_reachable("127.0.0.1", 5672), "RabbitMQ on 127.0.0.1:5672")
    return rabbitmq_session_url()


@pytest.fixture
def redis_url() -> str:
    require(_reachable("127.0.0.1", 6379), "Redis on 127.0.0.1:6379")
    return redis_session_url()


@pytest.fixture
def registry() -> Iterator[Registry]:
    """A fresh function registry for the test."""
    with use_registry() as fresh:
        yield fresh


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "broker" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.broker)
            item.add_marker(pytest.mark.integration)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI, a skipped broker test fails the run even if a fixture forgot to."""
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    skipped = [
        rep
        for rep in reporter.stats.get("skipped", [])
        if any(marker in rep.keywords for marker in BROKER_MARKERS)
    ]
    if skipped:
        reporter.write_line(
            f"CI=true: {len(skipped)} broker test(s) were skipped; failing the run", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
