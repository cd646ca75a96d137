"""Time limits of one function and the broker ack deadlines derived from them (pure).

A handler gets ``timeout`` seconds (soft: :class:`HandlerTimeout` is raised in
it) and :func:`hard_timeout` seconds before its process is replaced. A message is
held unacked while it waits for a free slot, while a retry waits out its delay in
the worker (Celery ETA) and while the handler runs, so the broker must not give
it to another consumer before :func:`ack_deadline`:

* Redis and the embedded broker: ``visibility_timeout`` is a client-side transport
  option, set per worker to the deadline (:func:`transport_overrides`); on Redis
  the sweep that restores expired messages runs about ten times per deadline.
* RabbitMQ 3.10: ``consumer_timeout`` is node-wide (the per-queue
  ``x-consumer-timeout`` argument needs 3.12); the worker checks the configured
  value against the deadline at start-up (:func:`rabbitmq_problem`).

Called by :mod:`worker_runtime.app` and ``eventfn worker``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from worker_runtime.registry import FunctionSpec

__all__ = [
    "DEADLINE_MARGIN",
    "ack_deadline",
    "hard_timeout",
    "prefetch_multiplier",
    "rabbitmq_problem",
    "transport_overrides",
]

#: Slack added to every derived deadline (scheduling, GC pauses, slow brokers).
DEADLINE_MARGIN = 5.0


def hard_timeout(spec: FunctionSpec) -> float:
    """When the handler's process is replaced: the soft timeout plus 10% (1-30 s)."""
    return spec.timeout + min(max(spec.timeout * 0.1, 1.0), 30.0)


#: Functions whose timeout is longer than this prefetch one message per pool slot.
LONG_HANDLER = 60.0


def prefetch_multiplier(spec: FunctionSpec, configured: int) -> int:
    """Messages each pool slot may hold ahead of its handler, for ``spec``.

    The configured value (Celery's default is 4) for short handlers, where fetching
    ahead hides the broker round trip; 1 for handlers that may run longer than
    :data:`LONG_HANDLER`, so the work goes to idle replicas and a prefetched message
    does not wait several long handlers (which the ack deadline would have to cover).
    """
    return configured if spec.timeout <= LONG_HANDLER else 1


def ack_deadline(spec: FunctionSpec, multiplier: int = 1) -> float:
    """The longest a healthy delivery of ``spec`` may stay unacked, in seconds.

    A prefetched message waits for the ``multiplier`` messages ahead of it in its
    pool slot (one hard timeout each), may wait out a retry delay in the worker
    (``max_delay``), then runs (another hard timeout).
    """
    retry_wait = spec.retry.max_delay if spec.retry.max_attempts > 1 else 0.0
    return (multiplier + 1) * hard_timeout(spec) + retry_wait + DEADLINE_MARGIN


def transport_overrides(
    url: str, options: dict[str, Any], specs: list[FunctionSpec], multiplier: int = 1
) -> dict[str, Any]:
    """``options`` with the visibility timeout set to the functions' longest ack deadline.

    Not the broker-wide default: a short function's lost messages come back quickly,
    a long function's running messages are never handed out twice.
    """
    scheme = urlsplit(url).scheme
    merged = dict(options)
    if scheme in ("amqp", "pyamqp") or not specs:
        return merged
    deadline = max(ack_deadline(spec, prefetch_multiplier(spec, multiplier)) for spec in specs)
    merged["visibility_timeout"] = deadline
    if scheme in ("redis", "rediss"):
        # kombu sweeps for expired unacked messages every interval x throttle seconds
        # (10 x 10 by default); sweep about ten times per deadline instead.
        merged["unacked_restore_interval"] = min(max(deadline / 10, 1.0), 10.0)
        merged["unacked_restore_throttle"] = 1
    return merged


def rabbitmq_problem(
    spec: FunctionSpec, consumer_timeout: float, multiplier: int = 1
) -> str | None:
    """Why the node's ``consumer_timeout`` is too short for ``spec``, or None."""
    needed = ack_deadline(spec, prefetch_multiplier(spec, multiplier))
    if consumer_timeout >= needed:
        return None
    return (
        f"function {spec.name!r} needs an ack deadline of {needed:.0f}s but RabbitMQ's "
        f"consumer_timeout is {consumer_timeout:.0f}s (EVENTFN_RABBITMQ_CONSUMER_TIMEOUT): "
        "raise consumer_timeout on the node, or lower the function's timeout/max_delay"
    )
