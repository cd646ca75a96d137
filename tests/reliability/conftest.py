"""Fixtures of the reliability tests: one private RabbitMQ node for the session.

The node (tests/support/rabbitmq_node.py) runs on its own port with its own data
folder, so tests may stop and start it; each test gets a fresh vhost on it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rel_support import Broker
from support.rabbitmq_node import node_or_skip


@pytest.fixture(scope="session")
def rel_broker() -> Iterator[Broker]:
    with node_or_skip() as node:
        yield Broker(node)
