"""The execution path of one event in one function, independent of Celery.

:func:`build_pipeline` composes the middleware (see
:mod:`worker_runtime.middleware`) around :func:`call_handler`, once per function
when the worker starts; the Celery task in :mod:`worker_runtime.app` hands each
message's :class:`~worker_runtime.context.Delivery` to :meth:`Pipeline.run` and
acks when it returns. :func:`execute` runs a handler on one event without any
broker (decode, typed data, timeout only), for tests and ``eventfn invoke``.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import time
from collections.abc import Sequence
from typing import Any

from worker_runtime.context import (
    Delivery,
    DeliveryInfo,
    Invocation,
    Outcome,
    Result,
    reset_current,
    set_current,
)
from worker_runtime.metrics import WorkerMetrics
from worker_runtime.middleware import (
    Attempts,
    DataModel,
    DeadLetter,
    Decode,
    HandlerTimeout,
    Idempotency,
    LogContext,
    Metrics,
    Middleware,
    Next,
    Replies,
    Retrying,
    Timeout,
    Tracing,
    compose,
)
from worker_runtime.ports import Outbox
from worker_runtime.registry import FunctionSpec
from worker_runtime.state.base import StateStore

__all__ = ["Pipeline", "build_pipeline", "call_handler", "default_middleware", "execute"]


async def _bounded(awaitable: Any, timeout: float | None) -> Any:
    if timeout is None:
        return await awaitable
    return await asyncio.wait_for(awaitable, timeout)


def call_handler(invocation: Invocation) -> Result:
    """The innermost step: call the handler (sync or async); record what it did."""
    spec, event = invocation.spec, invocation.event
    info = DeliveryInfo(
        function=spec.name,
        attempt=invocation.attempt,
        max_attempts=spec.retry.max_attempts,
        timeout=spec.timeout,
        first_failure=invocation.delivery.first_failure,
    )
    token = set_current(info)
    started = time.perf_counter()
    try:
        value = spec.handler(event)
        if inspect.isawaitable(value):
            try:
                value = asyncio.run(_bounded(value, invocation.extras.get("timeout")))
            except TimeoutError as exc:
                if isinstance(exc, HandlerTimeout):
                    raise
                raise HandlerTimeout(spec.name, spec.timeout) from exc
    except Exception as exc:  # a handler may raise anything; the outcome records it
        return Result(Outcome.FAILED, error=exc, duration=time.perf_counter() - started)
    finally:
        reset_current(token)
    return Result(Outcome.DONE, value=value, duration=time.perf_counter() - started)


def default_middleware(
    spec: FunctionSpec,
    *,
    outbox: Outbox,
    store: StateStore,
    metrics: WorkerMetrics,
    idempotency_ttl: float = 86400.0,
    attempt_marker_ttl: float = 86400.0,
    attempt_mark_after: float = 0.0,
    rng: random.Random | None = None,
    messaging_system: str = "eventfn.embedded",
) -> list[Middleware]:
    """The full chain, outermost first (see :mod:`worker_runtime.middleware`)."""
    del spec  # every middleware reads the spec off the invocation
    return [
        Metrics(metrics),
        Tracing(messaging_system),
        DeadLetter(outbox),
        Decode(),
        LogContext(),
        Idempotency(store, outbox, idempotency_ttl),
        Retrying(outbox, rng),
        Attempts(store, attempt_marker_ttl, attempt_mark_after),
        Replies(outbox, messaging_system),
        DataModel(),
        Timeout(),
    ]


class Pipeline:
    """One function's composed execution path."""

    def __init__(self, spec: FunctionSpec, middleware: Sequence[Middleware]) -> None:
        self.spec = spec
        self.middleware = list(middleware)
        self._run: Next = compose(self.middleware, call_handler)

    def run(self, delivery: Delivery) -> Result:
        """Run one delivery; raises only for infrastructure errors (do not ack then)."""
        return self._run(Invocation(delivery=delivery, attempt=delivery.attempt))


def build_pipeline(
    spec: FunctionSpec,
    *,
    outbox: Outbox,
    store: StateStore,
    metrics: WorkerMetrics,
    idempotency_ttl: float = 86400.0,
    attempt_marker_ttl: float = 86400.0,
    attempt_mark_after: float = 0.0,
    rng: random.Random | None = None,
    messaging_system: str = "eventfn.embedded",
) -> Pipeline:
    chain = default_middleware(
        spec,
        outbox=outbox,
        store=store,
        metrics=metrics,
        idempotency_ttl=idempotency_ttl,
        attempt_marker_ttl=attempt_marker_ttl,
        attempt_mark_after=attempt_mark_after,
        rng=rng,
        messaging_system=messaging_system,
    )
    return Pipeline(spec, chain)


def execute(spec: FunctionSpec, event_json: str, *, attempt: int = 1) -> Result:
    """Run ``spec``'s handler once on the event, no broker: never raises for handler
    or event errors (the result says FAILED)."""
    pipeline = Pipeline(spec, [Tracing(), Decode(), LogContext(), DataModel(), Timeout()])
    return pipeline.run(Delivery(spec=spec, body=event_json, task_id="local", attempt=attempt))
