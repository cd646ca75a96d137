"""Names and declarations of eventfn's queues, shared by every process.

Every message is published through the broker's default exchange with the queue
name as routing key, so routing never depends on bindings a process has declared
(kombu's virtual transports keep bindings per process).

* ``eventfn.bridge``           the bridge's input: CloudEvents from publishers and replies
* ``eventfn.bridge.dlq``       input the bridge could not decode or route, with the reason
* ``eventfn.bridge.unrouted``  events no subscription matched (when the policy keeps them)
* ``eventfn.activate``         "function X has work" signals from the bridge to the autoscaler
* ``eventfn.fn.NAME``          one function's task queue (Celery task messages)
* ``eventfn.fn.NAME.dlq``      that function's dead letters
"""

from __future__ import annotations

import re

from kombu import Queue

from broker_bridge.errors import ConfigurationError

__all__ = [
    "ACTIVATE_QUEUE",
    "BRIDGE_DLQ",
    "BRIDGE_QUEUE",
    "BRIDGE_UNROUTED",
    "FUNCTION_NAME_RE",
    "bridge_queue",
    "function_dlq_name",
    "function_queue",
    "function_queue_name",
    "queue",
    "task_name",
    "validate_function_name",
]

BRIDGE_QUEUE = "eventfn.bridge"
BRIDGE_DLQ = "eventfn.bridge.dlq"
BRIDGE_UNROUTED = "eventfn.bridge.unrouted"
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


def bridge_queue() -> Queue:
    return _queue(BRIDGE_QUEUE)


def function_queue(function: str) -> Queue:
    return _queue(function_queue_name(function))
