"""The bridge as routing control plane: it keeps the events exchange's bindings.

On RabbitMQ the bridge turns its subscription table into bindings
(:mod:`broker_bridge.bindings_plan`) and keeps them reconciled with the broker:

1. bind what the new table needs and the broker lacks (function queues per exact
   type, the bridge's queue per pattern);
2. publish a marker into the bridge's own queue and keep routing with the *old*
   table until the marker comes back: every event the broker routed before the new
   bindings existed was in the queue before the marker, so it is routed as it was
   published (none is lost because a subscription moved from the bridge to the
   broker);
3. switch to the new table, record the applied set, then unbind what the new table
   no longer needs.

An event published during the switch may reach a function whose subscription moved
between the two paths twice (never zero times); consumers dedupe by (source, id).

AMQP 0-9-1 cannot list bindings, so the set the bridge applied is kept in the
durable queue ``eventfn.bridge.bindings`` as one JSON message (read, replaced,
then the old one acked), and a restarted bridge prunes what an earlier table
bound.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import structlog
from kombu import Queue

from broker_bridge import topology

__all__ = ["MARKER_HEADER", "BindingSet", "Reconciler"]

log = structlog.get_logger("eventfn.bridge")

#: Header of the bridge's own switch marker (never an event).
MARKER_HEADER = "eventfn_bridge_marker"

BindingSet = set[tuple[str, str]]


def _ledger_queue() -> Queue:
    return topology.queue(topology.BINDINGS_LEDGER)


class Reconciler:
    """Applies binding sets on its own channel of an AMQP connection (kombu)."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.channel = connection.channel()
        self._declared: set[str] = set()
        self._ledger = _ledger_queue()(self.channel)
        self._ledger.declare()
        held, self.recorded = self._read_ledger()
        #: bound by this reconciler (queue_bind is idempotent: everything is bound
        #: again once per connection, so a queue deleted and re-created gets its own)
        self.applied: BindingSet = set()
        for message in held:  # leave the record for the next commit (or another bridge)
            message.requeue()

    def _read_ledger(self) -> tuple[list[Any], BindingSet]:
        held: list[Any] = []
        applied: BindingSet = set()
        while True:
            message = self._ledger.get(no_ack=False, accept=None)
            if message is None:
                break
            held.append(message)
            try:
                pairs = json.loads(message.body)
                applied.update((str(q), str(k)) for q, k in pairs)
            except (ValueError, TypeError):
                log.warning("unreadable bindings ledger entry; ignored")
        return held, applied

    def bind(self, desired: BindingSet) -> int:
        """Create every binding of ``desired`` the broker lacks; how many."""
        added = 0
        for queue, key in sorted(desired - self.applied):
            if queue not in self._declared:
                topology.queue(queue)(self.channel).declare()
                self._declared.add(queue)
            self.channel.queue_bind(queue, topology.EVENTS_EXCHANGE, key)
            added += 1
        self.applied |= desired
        return added

    def marker(self) -> str:
        """Publish a switch marker into the bridge's queue; its id."""
        token = uuid.uuid4().hex
        message = self.channel.prepare_message(
            b"", headers={MARKER_HEADER: token}, properties={"delivery_mode": 2}
        )
        self.channel.basic_publish(message, "", topology.BRIDGE_QUEUE)
        return token

    def commit(self, desired: BindingSet) -> int:
        """Record ``desired`` as applied and remove bindings outside it; how many."""
        held, recorded = self._read_ledger()
        body = json.dumps(sorted(desired)).encode()
        message = self.channel.prepare_message(
            body, content_type="application/json", properties={"delivery_mode": 2}
        )
        self.channel.basic_publish(message, "", topology.BINDINGS_LEDGER)
        for old in held:  # replaced only after the new record was published
            old.ack()
        stale = (self.applied | self.recorded | recorded) - desired
        for queue, key in sorted(stale):
            try:
                self.channel.queue_unbind(queue, topology.EVENTS_EXCHANGE, key)
            except self.connection.channel_errors:  # the queue is gone, and its bindings
                self.channel = self.connection.channel()
                self._ledger = _ledger_queue()(self.channel)
        self.applied = set(desired)
        self.recorded = set(desired)
        return len(stale)
