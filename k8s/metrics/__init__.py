"""Metrics sources: how many messages wait in (and are held from) each function queue.

Public API::

    from k8s.metrics import open_metrics_source, QueueStats
    source = open_metrics_source("amqp://...", management_url=None)
    stats = source.queue_stats("eventfn.fn.resize-image")   # ready, unacked, consumers

One module per broker: RabbitMQ over AMQP (ready + consumers only), the RabbitMQ
management API (ready + unacknowledged, sampled), kombu's Redis transport (ready +
unacknowledged), the embedded SQLite broker (ready + unacknowledged). Used by the
autoscaler loop.
"""

from k8s.metrics.amqp import AmqpQueueStats
from k8s.metrics.embedded import EmbeddedQueueStats
from k8s.metrics.management import ManagementQueueStats, queue_stats_from_json
from k8s.metrics.redis import RedisQueueStats
from k8s.metrics.sources import open_metrics_source
from k8s.metrics.stats import MetricsSource, QueueStats

__all__ = [
    "AmqpQueueStats",
    "EmbeddedQueueStats",
    "ManagementQueueStats",
    "MetricsSource",
    "QueueStats",
    "RedisQueueStats",
    "open_metrics_source",
    "queue_stats_from_json",
]
