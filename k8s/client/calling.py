"""One HTTP request to the API server through the official client, errors mapped.

Every verb module (:mod:`~k8s.client.reading`, :mod:`~k8s.client.applying`,
:mod:`~k8s.client.patching`, :mod:`~k8s.client.deleting`,
:mod:`~k8s.client.watching`) sends its requests through :func:`call`, which uses
``ApiClient.call_api`` (authentication, TLS and serialization of the ``kubernetes``
package) and turns failures into :mod:`k8s.errors`: 409 -> :class:`ApiConflict`,
other 4xx -> :class:`ApiClientError`, 5xx or no answer -> :class:`ApiServerError`.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from k8s.errors import ApiClientError, ApiConflict, ApiError, ApiServerError

__all__ = ["call", "map_error"]


def map_error(target: str, exc: ApiException) -> ApiError:
    status = int(exc.status) if exc.status else None
    reason = str(exc.reason)
    if exc.body:
        with contextlib.suppress(ValueError, AttributeError):
            reason = str(json.loads(exc.body).get("message") or reason)
    if status == 409:
        return ApiConflict(target, status, reason)
    if status is not None and 400 <= status < 500:
        return ApiClientError(target, status, reason)
    return ApiServerError(target, status, reason)


def call(
    api: client.ApiClient,
    method: str,
    path: str,
    *,
    body: Any = None,
    query: list[tuple[str, str]] | None = None,
    content_type: str = "application/json",
    stream: bool = False,
    timeout: float | None = 30.0,
) -> Any:
    """Send one request; returns the decoded JSON (or, with ``stream``, the raw
    urllib3 response for a watch, to be read line by line and released)."""
    headers = {"Accept": "application/json", "Content-Type": content_type}
    try:
        return api.call_api(
            path,
            method,
            query_params=query or [],
            header_params=headers,
            body=body,
            response_type=None if stream else "object",
            auth_settings=["BearerToken"],
            _return_http_data_only=True,
            _preload_content=not stream,
            _request_timeout=timeout,
        )
    except ApiException as exc:
        raise map_error(f"{method} {path}", exc) from exc
    except HTTPError as exc:
        raise ApiServerError(f"{method} {path}", None, str(exc)) from exc
