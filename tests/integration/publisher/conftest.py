"""Fixtures of the publisher tests: the embedded broker and a private RabbitMQ node."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.rabbitmq_node import RabbitMQNode, node_or_skip

from broker_bridge.transport import sqlite


@pytest.fixture
def embedded_url(tmp_path: Path) -> str:
    sqlite.register()
    return f"sqlite://localhost/{tmp_path / 'state' / 'broker.db'}"


@pytest.fixture(scope="module")
def private_rabbitmq() -> Iterator[RabbitMQNode]:
    """A RabbitMQ node of this module's own (stopped and started by the tests)."""
    with node_or_skip() as node:
        yield node
