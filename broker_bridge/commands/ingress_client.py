"""A small HTTP client of the eventfn ingress, for ``eventfn publish --ingress URL``.

Posts events as CloudEvents batches (``application/cloudevents-batch+json``) over
one keep-alive connection (stdlib ``http.client``: no extra dependency). A 503 is
retried after its ``Retry-After`` (bounded); any other refusal raises
:class:`IngressRefused` with the problem+json detail.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

from cloudevents.core.base import BaseCloudEvent

from broker_bridge.bindings.http import to_batch
from broker_bridge.errors import BridgeError, ConfigurationError

__all__ = ["IngressClient", "IngressRefused"]


class IngressRefused(BridgeError):
    """The ingress did not answer 202; carries the status and the problem detail."""

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail
        super().__init__(f"ingress answered {status}: {detail}")


class IngressClient:
    """POSTs batches to one ingress URL; retries 503 up to ``attempts`` times."""

    def __init__(
        self, url: str, *, token: str | None = None, attempts: int = 5, timeout: float = 60.0
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(f"ingress URL {url!r} must be http(s)://HOST[:PORT]/")
        self.url = url
        self.path = parts.path or "/"
        self.attempts = attempts
        self.headers = {"Content-Type": "application/cloudevents-batch+json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        self._conn = connection_class(parts.hostname, parts.port, timeout=timeout)

    def post_batch(self, events: Sequence[BaseCloudEvent]) -> None:
        """Send ``events`` as one batch; return once the ingress answered 202."""
        message = to_batch(events)
        for attempt in range(1, self.attempts + 1):
            status, body, retry_after = self._post(message.body)
            if status == 202:
                return
            detail = _detail(body)
            if status != 503 or attempt == self.attempts:
                raise IngressRefused(status, detail)
            time.sleep(min(retry_after, 30.0))
        raise AssertionError("unreachable")  # pragma: no cover

    def _post(self, body: bytes) -> tuple[int, bytes, float]:
        for reconnect in (False, True):
            try:
                self._conn.request("POST", self.path, body=body, headers=self.headers)
                response = self._conn.getresponse()
                data = response.read()
            except (http.client.HTTPException, OSError) as exc:
                self._conn.close()  # a kept-alive connection the server closed: once more
                if reconnect:
                    raise IngressRefused(0, f"cannot reach {self.url}: {exc}") from exc
                continue
            retry_after = response.headers.get("Retry-After", "1")
            return response.status, data, float(retry_after) if retry_after.isdigit() else 1.0
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self._conn.close()


def _detail(body: bytes) -> str:
    try:
        problem = json.loads(body)
        return str(problem.get("detail") or problem.get("title") or problem)
    except (ValueError, AttributeError):
        return body[:300].decode("utf-8", "replace")
