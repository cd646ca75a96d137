"""Push activation: the bridge's "function X has work" signals, consumed by the autoscaler.

The bridge publishes, when it routes an event to a function it has not routed to for
a while, one message to the durable queue ``eventfn.activate``
(:data:`broker_bridge.topology.ACTIVATE_QUEUE`) through the default exchange::

    content-type: application/json
    {"function": "resize-image", "at": 1764000000.25}     # at: unix time of routing

:class:`ActivationListener` consumes that queue in a thread and calls back at once,
so the autoscaler reconciles that function without waiting for its next poll (the
cold start is no longer bounded by the polling interval). Signals are hints: a
malformed or stale one is dropped, a lost one only costs the poll interval.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import structlog
from kombu import Connection, Consumer, Queue
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from broker_bridge.config import Settings
from broker_bridge.connection import connect
from broker_bridge.topology import ACTIVATE_QUEUE, validate_function_name

__all__ = ["ACTIVATE_QUEUE", "Activation", "ActivationListener", "activation_queue"]

log = structlog.get_logger("eventfn.autoscaler.activation")

#: Seconds between reconnection attempts after the broker went away.
_RECONNECT_DELAY = 1.0


class Activation(BaseModel):
    """One activation signal: ``function`` got an event at unix time ``at``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    function: str
    at: float = Field(ge=0)

    def to_json(self) -> bytes:
        return json.dumps({"function": self.function, "at": self.at}).encode()

    @classmethod
    def from_body(cls, body: bytes | str | dict[str, Any]) -> Activation:
        """Parse a message body; raises ``ValueError`` for anything malformed."""
        data = body if isinstance(body, dict) else json.loads(body)
        activation = cls.model_validate(data)
        validate_function_name(activation.function)
        return activation


def activation_queue() -> Queue:
    """``eventfn.activate``: durable, default exchange, routing key = queue name."""
    return Queue(ACTIVATE_QUEUE, exchange="", routing_key=ACTIVATE_QUEUE, durable=True)


class ActivationListener:
    """Consumes ``eventfn.activate`` in a daemon thread and calls ``on_activate``.

    ``on_activate(function, at)`` must be quick and thread-safe
    (:meth:`k8s.autoscaler.Autoscaler.activate` is). ``ready`` is set once the
    consumer is subscribed. Reconnects after broker failures.
    """

    def __init__(
        self,
        broker_url: str,
        on_activate: Callable[[str, float], object],
        *,
        settings: Settings | None = None,
    ) -> None:
        self.broker_url = broker_url
        self._on_activate = on_activate
        self._settings = settings or Settings(broker_url=broker_url)
        self._stop = threading.Event()
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="eventfn-activation", daemon=True)
        self.received = 0

    def start(self) -> ActivationListener:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def __enter__(self) -> ActivationListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with connect(self._settings, self.broker_url) as connection:
                    self._consume(connection)
            except Exception as exc:  # any transport error: log, wait, reconnect
                self.ready.clear()
                log.warning("activation consumer failed; reconnecting", error=str(exc))
                self._stop.wait(_RECONNECT_DELAY)

    def _consume(self, connection: Connection) -> None:
        with Consumer(
            connection.channel(),
            queues=[activation_queue()],
            on_message=self._on_message,  # raw: a malformed body must not stop the consumer
            prefetch_count=64,
        ):
            self.ready.set()
            while not self._stop.is_set():
                try:
                    connection.drain_events(timeout=0.25)
                except TimeoutError:
                    continue

    def _on_message(self, message: Any) -> None:
        try:
            activation = Activation.from_body(message.body)
        except (ValueError, ValidationError) as exc:
            log.warning("malformed activation signal dropped", error=str(exc))
            message.ack()
            return
        self.received += 1
        lag = max(0.0, time.time() - activation.at)
        log.debug("activation", function=activation.function, lag_seconds=round(lag, 3))
        try:
            self._on_activate(activation.function, activation.at)
        finally:
            message.ack()
