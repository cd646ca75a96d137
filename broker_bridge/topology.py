"""Names and declarations of eventfn's exchanges and queues, shared by every process.

On RabbitMQ every event is published once to the durable topic exchange
``eventfn.events`` with its ``type`` as routing key; the bridge binds each function
queue to it per exact type (and its own queue with over-approximating patterns), so
RabbitMQ copies an event into every matching queue itself. What matches no binding
goes through the alternate exchange ``eventfn.unmatched`` (fanout) into the bridge's
queue. On Redis and the embedded broker events go to the bridge's queue through the
default exchange and the bridge routes them (see ARCHITECTURE.md). Direct
invocations, retries and dead letters use the default exchange (routing key = queue).

* ``eventfn.events``           topic exchange, the entry point for events (RabbitMQ)
* ``eventfn.unmatched``        fanout, the alternate exchange of ``eventfn.events``

* ``eventfn.bridge``           the bridge's input: what the broker cannot route (patterns,
                               unmatched), and every event on Redis/embedded
* ``eventfn.bridge.dlq``       input the bridge could not decode or route, with the reason
* ``eventfn.bridge.unrouted``  events no subscription matched (when the policy keeps them)
* ``eventfn.activate``         "function X has work" signals from the bridge to the autoscaler
* ``eventfn.bridge.bindings``  the bindings the bridge applied (one JSON message)
* ``eventfn.fn.NAME``          one function's queue: CloudEvents as published
* ``eventfn.fn.NAME.dlq``      that function's dead letters
"""

from __future__ import annotations

import re

from kombu import Exchange, Queue, binding

from broker_bridge.errors import ConfigurationError

__all__ = [
    "ACTIVATE_QUEUE",
    "BINDINGS_LEDGER",
    "BRIDGE_DLQ",
    "BRIDGE_QUEUE",
    "BRIDGE_UNROUTED",
    "EVENTS_EXCHANGE",
    "FUNCTION_NAME_RE",
    "UNMATCHED_EXCHANGE",
    "bridge_queue",
    "events_exchange",
    "function_dlq_name",
    "function_of_queue",
    "function_queue",
    "function_queue_name",
    "native_routing",
    "queue",
    "task_name",
    "validate_function_name",
]

BRIDGE_QUEUE = "eventfn.bridge"
BRIDGE_DLQ = "eventfn.bridge.dlq"
BRIDGE_UNROUTED = "eventfn.bridge.unrouted"
BINDINGS_LEDGER = "eventfn.bridge.bindings"
EVENTS_EXCHANGE = "eventfn.events"
UNMATCHED_EXCHANGE = "eventfn.unmatched"
#: Activation signals from the bridge to the autoscaler (``{"function", "at"}`` JSON).
ACTIVATE_QUEUE = "eventfn.activate"
#: DNS-1123 label: the name doubles as a Kubernetes Deployment name.
FUNCTION_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def validate_function_name(name: str) -> str:
    if not FUNCTION_NAME_RE.match(name):
        raise ConfigurationError(
            f"function name {name!r} must be a DNS-1123 label "
            "(lower-case letters, digits and '-', at most 63 characters)"
        )
    return name


def function_queue_name(function: str) -> str:
    return f"eventfn.fn.{function}"


def function_of_queue(name: str) -> str | None:
    """The function whose queue ``name`` is (None for any other queue)."""
    prefix = "eventfn.fn."
    if not name.startswith(prefix) or name.endswith(".dlq"):
        return None
    return name[len(prefix) :]


def function_dlq_name(function: str) -> str:
    return f"eventfn.fn.{function}.dlq"


def task_name(function: str) -> str:
    """The Celery task name that runs ``function``."""
    return f"eventfn.fn.{function}"


def queue(name: str) -> Queue:
    """A durable queue reached through the default exchange (routing key = name)."""
    return _queue(name)


def _queue(name: str) -> Queue:
    return Queue(name, exchange="", routing_key=name, durable=True)


def native_routing(url: str) -> bool:
    """Whether the broker at ``url`` routes events itself (RabbitMQ: AMQP URLs)."""
    scheme = url.split("://", 1)[0].lower()
    return scheme in ("amqp", "amqps", "pyamqp", "librabbitmq")


def events_exchange() -> Exchange:
    """The topic exchange every event is published to (RabbitMQ)."""
    return Exchange(
        EVENTS_EXCHANGE,
        type="topic",
        durable=True,
        arguments={"alternate-exchange": UNMATCHED_EXCHANGE},
    )


def unmatched_exchange() -> Exchange:
    return Exchange(UNMATCHED_EXCHANGE, type="fanout", durable=True)


def bridge_queue(native: bool = False) -> Queue:
    """The bridge's input queue. ``native``: with the events exchange (and its
    alternate exchange, bound to this queue) declared too, so a publisher's first
    declare creates the whole entry point and nothing published is unroutable."""
    if not native:
        return _queue(BRIDGE_QUEUE)
    # the empty key: events whose type cannot be a routing key are published with it
    return Queue(
        BRIDGE_QUEUE,
        durable=True,
        bindings=[
            binding(events_exchange(), routing_key=""),
            binding(unmatched_exchange(), routing_key=""),
        ],
    )


def function_queue(function: str) -> Queue:
    return _queue(function_queue_name(function))
