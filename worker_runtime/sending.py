"""Direct invocation: put an event straight onto one function's queue (a background job).

``resize.send({"url": ...}, subject="img/1")`` (every ``@function`` handler gets a
``send``), :func:`send` and ``eventfn invoke FUNCTION`` build a CloudEvent
(:func:`invocation_event`) and publish it as a task message onto the function's
queue with :meth:`broker_bridge.publisher.Publisher.publish_to_function` (the same
message the bridge and ``POST /functions/NAME`` produce), returning once the broker
confirmed it. No subscription is consulted; the worker runs it through the same
execution path as a routed event (retries, dead letters, idempotency, replies).

The broker is the process's (``EVENTFN_BROKER_URL``, else the embedded broker);
one :class:`~broker_bridge.publisher.Publisher` per broker URL and process is kept
open and closed at exit, so sending from a handler costs one confirmed publish.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, Protocol, TypeVar

from cloudevents.core.base import BaseCloudEvent

from broker_bridge.config import get_settings
from broker_bridge.connection import broker_url
from broker_bridge.event import new_event
from broker_bridge.publisher import Publisher
from worker_runtime.registry import Registry, current_registry

__all__ = [
    "DEFAULT_SOURCE",
    "FunctionHandler",
    "Sender",
    "attach",
    "close_publishers",
    "default_type",
    "invocation_event",
    "send",
]

#: The ``source`` of a directly invoked event unless ``source=`` is given.
DEFAULT_SOURCE = "/eventfn/invoke"

P = ParamSpec("P")
R_co = TypeVar("R_co", covariant=True)


def default_type(function: str) -> str:
    """The ``type`` of a directly invoked event unless ``type=`` is given."""
    return f"eventfn.invoke.{function}"


class FunctionHandler(Protocol[P, R_co]):
    """What ``@function`` returns: the handler itself, plus ``send``."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    def send(self, data: Any = None, **attributes: Any) -> str:
        """Put an event with ``data`` onto this function's queue; returns its id."""
        ...


def invocation_event(function: str, data: Any = None, **attributes: Any) -> BaseCloudEvent:
    """The event :func:`send` publishes: ``type`` ``eventfn.invoke.FUNCTION``, ``source``
    ``/eventfn/invoke``, a new ``id`` and ``datacontenttype`` ``application/json``
    (``text/plain`` for a string) unless given in ``attributes`` (which may also set
    ``subject``, ``time``, ``id`` and extensions). Raises InvalidEventError."""
    values = {key: value for key, value in attributes.items() if value is not None}
    values.setdefault("type", default_type(function))
    values.setdefault("source", DEFAULT_SOURCE)
    if data is not None and not isinstance(data, bytes):
        text = isinstance(data, str)
        values.setdefault("datacontenttype", "text/plain" if text else "application/json")
    return new_event(values, data)


class _Publishers:
    """One open Publisher per (process, broker URL); forked children open their own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[tuple[int, str], Publisher] = {}

    def get(self) -> Publisher:
        settings = get_settings()
        key = (os.getpid(), broker_url(settings))
        with self._lock:
            publisher = self._open.get(key)
            if publisher is None:
                publisher = Publisher(key[1], settings=settings)
                self._open[key] = publisher
            return publisher

    def close(self) -> None:
        with self._lock:
            mine = [key for key in self._open if key[0] == os.getpid()]
            publishers = [self._open.pop(key) for key in mine]
        for publisher in publishers:
            publisher.close()


_publishers = _Publishers()
atexit.register(_publishers.close)


def close_publishers() -> None:
    """Close the publishers :func:`send` opened in this process (they reopen on use)."""
    _publishers.close()


def send(
    function: str,
    data: Any = None,
    *,
    publisher: Publisher | None = None,
    registry: Registry | None = None,
    **attributes: Any,
) -> str:
    """Put an event with ``data`` straight onto ``function``'s queue; returns the event id.

    ``function`` must be registered in ``registry`` (default: the current one), else
    :class:`~worker_runtime.errors.UnknownFunction`. ``attributes`` override the
    defaults of :func:`invocation_event`. Returns once the broker confirmed the
    message (``publisher``: default, the process's broker).
    """
    (registry if registry is not None else current_registry()).get(function)
    return _publish(function, data, publisher, attributes)


def _publish(
    function: str, data: Any, publisher: Publisher | None, attributes: dict[str, Any]
) -> str:
    event = invocation_event(function, data, **attributes)
    (publisher or _publishers.get()).publish_to_function(function, event)
    return str(event.get_id())


class Sender:
    """The ``send`` attribute ``@function`` puts on a handler (bound to its name)."""

    def __init__(self, function: str) -> None:
        self.function = function

    def __call__(self, data: Any = None, **attributes: Any) -> str:
        return _publish(self.function, data, None, attributes)

    def __repr__(self) -> str:
        return f"<send to function {self.function!r}>"


def attach(handler: Callable[P, R_co], function: str) -> FunctionHandler[P, R_co]:
    """Give ``handler`` a ``send`` for ``function`` and return it (the same object)."""
    # a builtin or slotted callable takes no attributes: it is registered all the same
    with contextlib.suppress(AttributeError, TypeError):
        handler.send = Sender(function)  # type: ignore[attr-defined]
    return handler  # type: ignore[return-value]
