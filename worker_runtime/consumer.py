"""Celery's consumer, taught to take CloudEvents messages as task requests.

Installed with Celery's documented ``worker_consumer`` setting. Function queues hold
CloudEvents as published (:mod:`broker_bridge.wire`), not Celery task messages; for
each message without a ``task`` header this consumer finds the function (the queue
it came from), derives the task id and reads eventfn's ``eventfn_*`` headers
(attempt, ETA, first failure), and hands Celery's default strategy a view of the
message that looks like a protocol-2 request whose arguments are already decoded:
``(body, event headers, content type)``. Everything after that is stock Celery:
prefetch and QoS, ETAs (the timer), ``acks_late``, time limits, reject on worker
loss, the pool. The event itself is decoded in the pool process by the pipeline's
``Decode`` middleware, so a message that is not a valid CloudEvent still becomes a
task and ends in the dead-letter queue with its original bytes.

Celery protocol-2 task messages (queued by an earlier eventfn) keep working: they
take Celery's own path.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from celery.worker.consumer import Consumer
from kombu.message import Message

from broker_bridge import topology, wire
from worker_runtime.context import Delivery
from worker_runtime.registry import FunctionSpec

__all__ = ["CloudEventsConsumer", "FunctionResolver", "delivery_of", "request_headers"]

EVENTS = topology.EVENTS_EXCHANGE
log = structlog.get_logger("eventfn.worker")
logger = logging.getLogger("eventfn.worker.consumer")
_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def request_headers(
    function: str,
    message_headers: Mapping[str, Any] | None,
    body: bytes | str,
    content_type: Any,
    routing_key: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``(protocol-2 request headers, event headers)`` for a CloudEvents message.

    ``routing_key``: the key it was published to the events exchange with. None is
    returned when that key is not the event's type: a binding for the key delivered
    an event the function did not subscribe to (a foreign producer set another key),
    and the bridge, which routes such events fully, delivers it where it belongs.
    """
    event_headers, control = wire.split_headers(message_headers)
    task_id = control.get(wire.TASK_ID)
    identity = None
    if task_id is None or routing_key is not None:
        identity = wire.event_identity(body, event_headers, content_type)
    if routing_key is not None and identity is not None and identity[2] != routing_key:
        return None
    if task_id is None:
        task_id = (
            wire.task_id_for(function, identity[0], identity[1]) if identity else str(uuid.uuid4())
        )
    else:
        task_id = str(task_id)
    attempt = int(control.get(wire.ATTEMPT) or 1)
    headers = {
        "lang": "py",
        "task": topology.task_name(function),
        "id": task_id,
        "root_id": task_id,
        "parent_id": None,
        "group": None,
        "eta": control.get(wire.ETA),
        "expires": None,
        "retries": attempt - 1,
        "timelimit": None,
        "argsrepr": "(<CloudEvent>,)",
        "kwargsrepr": "{}",
        "ignore_result": True,
        "eventfn_attempt": attempt,
        "eventfn_first_failure": control.get(wire.FIRST_FAILURE),
        "eventfn_defers": int(control.get(wire.DEFERS) or 0),
        "eventfn_previous_span": control.get(wire.PREVIOUS_SPAN),
    }
    return headers, event_headers


def delivery_of(spec: FunctionSpec, message: Message) -> Delivery:
    """The :class:`Delivery` of a message read off ``spec``'s queue without Celery
    (the in-process testing harness): a CloudEvents message or a legacy task message."""
    headers = message.headers or {}
    info = message.delivery_info or {}
    body = message.body
    if "task" in headers:
        args, _kwargs, _embed = json.loads(body.decode() if isinstance(body, bytes) else body)
        return Delivery(
            spec=spec,
            body=str(args[0]),
            task_id=str(headers["id"]),
            attempt=int(headers.get("eventfn_attempt") or 1),
            redelivered=bool(info.get("redelivered")),
            first_failure=headers.get("eventfn_first_failure"),
            defers=int(headers.get("eventfn_defers") or 0),
            previous_span=headers.get("eventfn_previous_span"),
        )
    built = request_headers(spec.name, headers, body, message.content_type)
    assert built is not None
    request, event_headers = built
    return Delivery(
        spec=spec,
        body=body,
        task_id=request["id"],
        attempt=request["eventfn_attempt"],
        redelivered=bool(info.get("redelivered")),
        first_failure=request["eventfn_first_failure"],
        defers=request["eventfn_defers"],
        previous_span=request["eventfn_previous_span"],
        headers=event_headers,
        content_type=message.content_type,
    )


class _CloudEventRequest:
    """A received message as Celery's strategy and Request see it: synthesized
    headers, an already-decoded body, no content type; everything else (ack,
    reject, delivery info, properties) is the real message's."""

    __slots__ = ("_message", "body", "headers", "payload")

    content_type = None
    content_encoding = None

    def __init__(self, message: Message, headers: dict[str, Any], args: tuple[Any, ...]) -> None:
        self._message = message
        self.headers = headers
        self.body: tuple[tuple[Any, ...], dict[str, Any], dict[str, Any]] = (args, {}, _EMBED)
        self.payload = self.body

    def __getattr__(self, name: str) -> Any:
        return getattr(self._message, name)


#: Maps a received message to the name of the function whose queue it came from.
FunctionResolver = Callable[[Message], str | None]


class CloudEventsConsumer(Consumer):  # type: ignore[misc]
    """``worker_consumer``: Celery's Consumer plus the CloudEvents intake."""

    def _function_of(self, message: Message) -> str | None:
        info = message.delivery_info or {}
        functions: dict[str, str] = self.app.conf.get("eventfn_queue_functions") or {}
        tag = info.get("consumer_tag")
        if tag is not None:
            consumer = getattr(self, "task_consumer", None)
            for queue, active in (getattr(consumer, "_active_tags", None) or {}).items():
                if active == tag and queue in functions:
                    return functions[queue]
        key = info.get("routing_key")
        if key in functions:
            return functions[key]
        if len(functions) == 1:
            return next(iter(functions.values()))
        return None

    def create_task_handler(self, *args: Any, **kwargs: Any) -> Callable[[Message], Any]:
        celery_handler = super().create_task_handler(*args, **kwargs)
        on_unknown_message = self.on_unknown_message
        connection_errors = self.connection_errors

        def on_message(message: Message) -> Any:
            headers = message.headers
            if not isinstance(headers, Mapping) or "task" in headers:
                return celery_handler(message)  # a Celery task message (or garbage)
            function = self._function_of(message)
            if function is None:
                return on_unknown_message(None, message)
            body = message.body
            info = message.delivery_info or {}
            key = info.get("routing_key") if info.get("exchange") == EVENTS else None
            built = request_headers(function, headers, body, message.content_type, key)
            if built is None:
                log.debug("copy for another routing key dropped", function=function, key=key)
                return message.ack_log_error(logger, connection_errors)
            request, event_headers = built
            args = (body, event_headers, message.content_type)
            return celery_handler(_CloudEventRequest(message, request, args))

        return on_message
