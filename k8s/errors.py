"""The exception tree of the ``k8s`` package::

    EventfnError                          (broker_bridge.errors)
    └── K8sError
        ├── InvalidResource (ValueError)     a Function/Subscription resource cannot be read
        │                                    into a FunctionSpec (names the resource, problems)
        └── ApiError                         the Kubernetes API refused or failed a request
            ├── ApiClientError               4xx: the request is wrong; do not retry as is
            └── ApiServerError               5xx or no answer: retry later with a delay

Raised by :mod:`k8s.render` (``InvalidResource``) and :mod:`k8s.actuators` (``ApiError``);
the operator and the autoscaler loop catch them to decide what to do next.
"""

from __future__ import annotations

from broker_bridge.errors import EventfnError

__all__ = [
    "ApiClientError",
    "ApiError",
    "ApiServerError",
    "InvalidResource",
    "K8sError",
]


class K8sError(EventfnError):
    """Base of the errors raised by ``k8s``."""


class InvalidResource(K8sError, ValueError):
    """A custom resource does not describe a valid function; carries its name and problems."""

    def __init__(self, name: str, problems: str) -> None:
        self.name = name
        self.problems = problems
        super().__init__(f"resource {name!r} is invalid: {problems}")


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
