"""Pick the metrics source for a broker URL (a lazily imported alias table).

Called by ``eventfn autoscale``, ``eventfn operator`` and ``eventfn dev``. RabbitMQ
uses the management API when a management URL is given (it sees unacknowledged
messages) and a passive AMQP declare otherwise.
"""

from __future__ import annotations

import importlib
from urllib.parse import unquote, urlsplit

from broker_bridge.errors import ConfigurationError
from k8s.metrics.stats import MetricsSource

__all__ = ["open_metrics_source"]

#: URL scheme -> "module:class" of the source reading that broker.
SOURCES = {
    "amqp": "k8s.metrics.amqp:AmqpQueueStats",
    "pyamqp": "k8s.metrics.amqp:AmqpQueueStats",
    "redis": "k8s.metrics.redis:RedisQueueStats",
    "rediss": "k8s.metrics.redis:RedisQueueStats",
    "sqlite": "k8s.metrics.embedded:EmbeddedQueueStats",
}
_MANAGEMENT = "k8s.metrics.management:ManagementQueueStats"


def _load(path: str) -> type[MetricsSource]:
    module, _, name = path.partition(":")
    source: type[MetricsSource] = getattr(importlib.import_module(module), name)
    return source


def open_metrics_source(broker_url: str, management_url: str | None = None) -> MetricsSource:
    """The source for ``broker_url``; ``management_url`` (http://...) for RabbitMQ's API.

    The management API's vhost is the AMQP URL's (``/`` when it names none).
    """
    scheme = urlsplit(broker_url).scheme
    if management_url:
        if scheme not in ("amqp", "pyamqp"):
            raise ConfigurationError(
                f"a management URL only applies to RabbitMQ (amqp://), not {scheme}://"
            )
        path = urlsplit(broker_url).path
        vhost = unquote(path[1:]) if len(path) > 1 else "/"
        return _load(_MANAGEMENT)(management_url, vhost=vhost)  # type: ignore[call-arg]
    try:
        source = SOURCES[scheme]
    except KeyError:
        raise ConfigurationError(
            f"no metrics source for {scheme}:// brokers (known: {', '.join(sorted(SOURCES))})"
        ) from None
    return _load(source)(broker_url)  # type: ignore[call-arg]
