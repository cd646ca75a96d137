"""The one seam between the execution path and the broker: :class:`Outbox`.

The middleware publish retries, dead letters and replies through an ``Outbox``;
:mod:`worker_runtime.publishing` implements it on kombu (publisher confirms), and
tests pass a recording fake. Every method returns only once the broker has the
message, so the caller may ack the input afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from cloudevents.core.base import BaseCloudEvent

from worker_runtime.context import Delivery

__all__ = ["Outbox"]


class Outbox(Protocol):
    """Where the execution path sends what it produces."""

    def publish_retry(
        self,
        delivery: Delivery,
        *,
        attempt: int,
        delay: float,
        first_failure: str | None,
        defers: int = 0,
    ) -> None:
        """Put the event back on the function's queue, to run after ``delay`` seconds."""

    def publish_dead_letter(self, delivery: Delivery, headers: Mapping[str, Any]) -> None:
        """Put the original event bytes on the function's dead-letter queue."""

    def publish_replies(self, events: Sequence[BaseCloudEvent]) -> None:
        """Publish reply events to the bridge's input queue."""
