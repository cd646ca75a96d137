"""RabbitMQ queue depth through the management plugin's HTTP API.

``GET /api/queues/{vhost}/{name}`` answers a JSON object whose ``messages_ready`` and
``messages_unacknowledged`` are the two counts the autoscaler needs, and ``consumers``.
What it sees that AMQP does not: unacknowledged messages (running handlers). Its
limit: the numbers are *sampled* by the broker (``collect_statistics_interval``,
5 s by default), so they lag; a queue created since the last sample may lack the
fields (read as zero). Needs the ``rabbitmq_management`` plugin and a user with the
``monitoring`` tag (or management rights on the vhost).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from broker_bridge.connection import mask_url
from k8s.errors import MetricsUnavailable
from k8s.metrics.stats import QueueStats

__all__ = ["ManagementQueueStats", "queue_stats_from_json"]


def queue_stats_from_json(queue: str, body: dict[str, Any]) -> QueueStats:
    """The documented JSON shape of one queue -> :class:`QueueStats` (missing = 0)."""
    return QueueStats(
        queue=queue,
        ready=int(body.get("messages_ready") or 0),
        unacked=int(body.get("messages_unacknowledged") or 0),
        consumers=int(body.get("consumers") or 0),
    )


class ManagementQueueStats:
    """Reads ``/api/queues/{vhost}/{queue}`` from ``http(s)://user:password@host:port``.

    The credentials may be in the URL or given apart; ``vhost`` defaults to ``/``.
    """

    name = "rabbitmq-management"
    sees_unacked = True

    def __init__(
        self,
        url: str,
        *,
        vhost: str = "/",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"management URL {mask_url(url)} must be http:// or https://")
        user = username if username is not None else parts.username
        secret = password if password is not None else parts.password
        netloc = parts.hostname or ""
        if parts.port is not None:
            netloc = f"{netloc}:{parts.port}"
        self._base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        self._auth: str | None = None
        if user is not None:
            token = base64.b64encode(f"{user}:{secret or ''}".encode()).decode()
            self._auth = f"Basic {token}"
        self.vhost = vhost
        self._timeout = timeout

    def url_for(self, queue: str) -> str:
        return f"{self._base}/api/queues/{quote(self.vhost, safe='')}/{quote(queue, safe='')}"

    def queue_stats(self, queue: str) -> QueueStats:
        request = urllib.request.Request(self.url_for(queue), method="GET")  # noqa: S310 - http(s) only, checked above
        request.add_header("Accept", "application/json")
        if self._auth is not None:
            request.add_header("Authorization", self._auth)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 - http(s) only
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:  # not declared yet: nothing is waiting in it
                return QueueStats(queue=queue, ready=0, unacked=0, consumers=0)
            raise MetricsUnavailable(self.name, queue, f"HTTP {exc.code} {exc.reason}") from exc
        except (OSError, ValueError) as exc:  # URLError, timeouts, invalid JSON
            raise MetricsUnavailable(self.name, queue, str(exc)) from exc
        if not isinstance(body, dict):
            raise MetricsUnavailable(self.name, queue, "answer is not a JSON object")
        return queue_stats_from_json(queue, body)

    def close(self) -> None:
        """Nothing to release: one short HTTP request per call."""
