"""Test doubles for the worker runtime's unit tests: a recording outbox."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from broker_bridge.event import new_event
from broker_bridge.formats.json import to_json
from worker_runtime.context import Delivery, Invocation
from worker_runtime.registry import FunctionSpec


@dataclass
class RecordingOutbox:
    retries: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[tuple[Delivery, dict[str, Any]]] = field(default_factory=list)
    replies: list[Any] = field(default_factory=list)

    def publish_retry(
        self,
        delivery: Delivery,
        *,
        attempt: int,
        delay: float,
        first_failure: str | None,
        defers: int = 0,
    ) -> None:
        self.retries.append(
            {"attempt": attempt, "delay": delay, "first_failure": first_failure, "defers": defers}
        )

    def publish_dead_letter(self, delivery: Delivery, headers: Mapping[str, Any]) -> None:
        self.dead_letters.append((delivery, dict(headers)))

    def publish_replies(self, events: Sequence[Any]) -> None:
        self.replies.extend(events)


def body(event_id: str = "e1", data: Any = None, **attributes: Any) -> str:
    attrs = {"type": "com.example.t", "source": "/unit", "id": event_id, **attributes}
    return to_json(new_event(attrs, data)).decode()


def invocation(spec: FunctionSpec, text: str | None = None, **delivery: Any) -> Invocation:
    from broker_bridge.formats.json import from_json

    text = text or body()
    d = Delivery(spec=spec, body=text, task_id="task-1", **delivery)
    return Invocation(delivery=d, event=from_json(text), attempt=d.attempt)
