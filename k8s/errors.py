"""The exception tree of the ``k8s`` package::

    EventfnError                          (broker_bridge.errors)
    └── K8sError
        ├── InvalidResource (ValueError)     a Function/Subscription resource cannot be read
        │                                    into a FunctionSpec (names the resource, problems)
        ├── MetricsUnavailable (ConnectionError)  a queue's depth could not be read: skip this
        │                                    tick for the function, never scale on guesses
        └── ApiError                         the Kubernetes API refused or failed a request
            ├── ApiClientError               4xx: the request is wrong; do not retry as is
            │   └── ApiConflict              409: the object changed meanwhile; re-read, retry
            └── ApiServerError               5xx or no answer: retry later with a delay

Raised by :mod:`k8s.render` (``InvalidResource``), :mod:`k8s.metrics`
(``MetricsUnavailable``), :mod:`k8s.actuators` and :mod:`k8s.operator` (``ApiError``);
the operator and the autoscaler loop catch them to decide what to do next.
"""

from __future__ import annotations

from broker_bridge.errors import EventfnError

__all__ = [
    "ApiClientError",
    "ApiConflict",
    "ApiError",
    "ApiServerError",
    "InvalidResource",
    "K8sError",
    "MetricsUnavailable",
]


class K8sError(EventfnError):
    """Base of the errors raised by ``k8s``."""


class InvalidResource(K8sError, ValueError):
    """A custom resource does not describe a valid function; carries its name and problems."""

    def __init__(self, name: str, problems: str) -> None:
        self.name = name
        self.problems = problems
        super().__init__(f"resource {name!r} is invalid: {problems}")


class MetricsUnavailable(K8sError, ConnectionError):
    """A metrics source could not read a queue's statistics (``source``, ``queue``, cause)."""

    def __init__(self, source: str, queue: str, cause: str) -> None:
        self.source = source
        self.queue = queue
        self.cause = cause
        super().__init__(f"{source}: cannot read queue {queue!r}: {cause}")


class ApiError(K8sError):
    """The Kubernetes API answered with an error, or not at all.

    ``status`` is the HTTP status (``None`` when there was no answer), ``reason`` the
    API's reason or the transport error, ``target`` what was being read or changed.
    """

    def __init__(self, target: str, status: int | None, reason: str) -> None:
        self.target = target
        self.status = status
        self.reason = reason
        super().__init__(f"{target}: {status if status is not None else 'no answer'} {reason}")


class ApiClientError(ApiError):
    """A 4xx answer: the request itself is wrong (not found, forbidden, invalid)."""


class ApiServerError(ApiError):
    """A 5xx answer or a transport failure: temporary, worth retrying with a delay."""


class ApiConflict(ApiClientError):
    """A 409 answer: the object changed since it was read; re-read it and try again."""
