"""Fixtures of the ingress tests: the embedded broker and a private RabbitMQ node."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.rabbitmq_node import RabbitMQNode, node_or_skip


@pytest.fixture
def embedded_url(tmp_path: Path) -> str:
    return f"sqlite://localhost/{tmp_path / 'state' / 'broker.db'}"


@pytest.fixture(scope="module")
def private_rabbitmq() -> Iterator[RabbitMQNode]:
    """A RabbitMQ node of this module's own (fresh queues; may be stopped and started)."""
    with node_or_skip() as node:
        yield node
