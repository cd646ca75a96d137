"""The ``eventfn`` fixture's harness: the bridge and the workers as threads of the test.

Runs on an embedded broker (a SQLite file in a temporary directory): the real
:class:`~broker_bridge.bridge.Bridge` in one thread, and for each function one
thread consuming its queue and running every message through the real execution
path (:func:`~worker_runtime.execution.build_pipeline`: retries republished with
their attempt number, dead letters, idempotency in a SQLite state store, replies
published back to the bridge) plus the recording hook
(:mod:`worker_runtime.recording`). What it replaces is only the Celery shell of
:mod:`worker_runtime.app`: a message is handled in the function's thread, acked
afterwards, and requeued after an infrastructure error.

Differences from real workers, on purpose: ``fast_retries`` (default True) runs a
retry as soon as it is published instead of after its backoff delay (the delay
is still computed and logged; a deferred duplicate still waits); one handler at
a time per function; no soft timeout for sync handlers (they do not run in a
main thread; async handlers still get theirs) and no hard timeout.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import structlog
from celery import Celery
from kombu import Consumer, Message
from prometheus_client import CollectorRegistry

from broker_bridge import topology
from broker_bridge.bridge import Bridge
from broker_bridge.config import Settings
from broker_bridge.connection import connect, transport_options
from broker_bridge.transport import sqlite
from worker_runtime.context import Delivery
from worker_runtime.execution import Pipeline, build_pipeline
from worker_runtime.metrics import WorkerMetrics
from worker_runtime.publishing import KombuOutbox
from worker_runtime.recording import RecordEntry, with_recording
from worker_runtime.registry import FunctionSpec, Registry
from worker_runtime.state import StateStore, open_store, store_url_for
from worker_runtime.subscriptions import router_source
from worker_runtime.testing.harness import Harness
from worker_runtime.testing.records import Attempt, attempt_from_entry
from worker_runtime.testing.waiting import TimedOut

__all__ = ["InProcessHarness"]

log = structlog.get_logger("eventfn.testing")

_POLL = 0.05  # seconds a consumer blocks for a message before checking stop and ETAs
_INFRA_BACKOFF = 0.5
_JOIN = 30.0


def _due_time(eta: Any) -> float | None:
    if not eta:
        return None
    try:
        moment = datetime.fromisoformat(str(eta).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


class _FunctionThread(threading.Thread):
    """Consumes one function's queue; runs each message through its pipeline."""

    def __init__(self, harness: InProcessHarness, spec: FunctionSpec, pipeline: Pipeline) -> None:
        super().__init__(name=f"eventfn-fn-{spec.name}", daemon=True)
        self.harness = harness
        self.spec = spec
        self.pipeline = pipeline
        self.held: list[tuple[float, int, Message]] = []  # (due, seq, message) by due time
        self._seq = itertools.count()

    def run(self) -> None:
        stop = self.harness.stopping
        while not stop.is_set():
            try:
                self._consume()
            except Exception as exc:  # broker trouble: report it, then reconnect
                if stop.is_set():
                    break
                self.harness.report_error(f"{self.spec.name}: consumer failed: {exc!r}")
                self.held.clear()
                stop.wait(_INFRA_BACKOFF)

    def _consume(self) -> None:
        stop = self.harness.stopping
        with connect(self.harness.settings) as conn:
            conn.ensure_connection(max_retries=3)
            consumer = Consumer(
                conn.channel(),
                queues=[topology.function_queue(self.spec.name)],
                on_message=self._on_message,
                accept=None,
            )
            consumer.consume()
            while not stop.is_set():
                self._run_due()
                timeout = _POLL
                if self.held:
                    timeout = max(0.0, min(_POLL, self.held[0][0] - time.time()))
                with contextlib.suppress(TimeoutError):  # nothing came within the timeout
                    conn.drain_events(timeout=timeout)
            consumer.cancel()

    def _on_message(self, message: Message) -> None:
        headers = message.headers or {}
        due = _due_time(headers.get("eta"))
        defers = int(headers.get("eventfn_defers") or 0)
        if due is not None and due > time.time() and not (self.harness.fast_retries and not defers):
            heapq.heappush(self.held, (due, next(self._seq), message))
            return
        self._handle(message)

    def _run_due(self) -> None:
        while self.held and self.held[0][0] <= time.time():
            _, _, message = heapq.heappop(self.held)
            self._handle(message)

    def _handle(self, message: Message) -> None:
        try:
            delivery = self._delivery(message)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            self.harness.report_error(f"{self.spec.name}: not a task message ({exc}); dropped")
            message.ack()
            return
        try:
            self.pipeline.run(delivery)
        except Exception as exc:  # broker or state store trouble: keep the message
            self.harness.report_error(f"{self.spec.name}: infrastructure failure: {exc!r}")
            log.exception("infrastructure failure; requeueing", function=self.spec.name)
            self.harness.stopping.wait(_INFRA_BACKOFF)
            message.requeue()
            return
        message.ack()

    def _delivery(self, message: Message) -> Delivery:
        body = message.body
        args, _kwargs, _embed = json.loads(body.decode() if isinstance(body, bytes) else body)
        headers = message.headers or {}
        return Delivery(
            spec=self.spec,
            body=str(args[0]),
            task_id=str(headers["id"]),
            attempt=int(headers.get("eventfn_attempt") or 1),
            redelivered=bool((message.delivery_info or {}).get("redelivered")),
            first_failure=headers.get("eventfn_first_failure"),
            defers=int(headers.get("eventfn_defers") or 0),
        )


class InProcessHarness(Harness):
    """Bridge and workers in threads of this process, on an embedded broker in
    ``state_dir``. Use as a context manager (or :meth:`start` / :meth:`close`)."""

    def __init__(self, registry: Registry, state_dir: Path, *, fast_retries: bool = True) -> None:
        sqlite.register()
        self.state_dir = Path(state_dir)
        url = f"sqlite://localhost/{(self.state_dir / 'broker.db').resolve()}"
        settings = Settings(
            broker_url=url,
            state_dir=self.state_dir,
            publish_timeout=30.0,
        )
        super().__init__(registry, settings)
        #: Run retries at once instead of after their backoff delay (settable any time).
        self.fast_retries = fast_retries
        self.stopping = threading.Event()
        self._records: list[Attempt] = []
        self._errors: list[str] = []
        self._changed = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._bridge: Bridge | None = None
        self._app: Celery | None = None
        self._store: StateStore | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> Self:
        super().start()
        try:
            self._start_threads()
        except BaseException:
            self.close()
            raise
        return self

    def _start_threads(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        app = Celery("eventfn-harness", broker=self.url, set_as_current=False)
        app.conf.update(
            broker_transport_options=transport_options(self.settings, self.url),
            broker_connection_retry_on_startup=True,
        )
        self._app = app
        self._store = open_store(store_url_for(None, self.url, self.state_dir))
        outbox = KombuOutbox(app)
        metrics = WorkerMetrics(CollectorRegistry())
        for spec in self.registry:
            pipeline = with_recording(
                build_pipeline(spec, outbox=outbox, store=self._store, metrics=metrics),
                self._record,
            )
            self._threads.append(_FunctionThread(self, spec, pipeline))
        self._bridge = Bridge(self.settings, router_source(self.registry))
        self._threads.append(
            threading.Thread(target=self._run_bridge, name="eventfn-bridge", daemon=True)
        )
        for thread in self._threads:
            thread.start()

    def _run_bridge(self) -> None:
        assert self._bridge is not None
        try:
            self._bridge.run()
        except Exception as exc:  # reported in timeout messages, never raised in a thread
            self.report_error(f"bridge failed: {exc!r}")

    def close(self) -> None:
        self.stopping.set()
        if self._bridge is not None:
            self._bridge.stop()
        for thread in self._threads:
            if thread.ident is None:
                continue
            thread.join(_JOIN)
            if thread.is_alive():
                log.warning("harness thread still running after close", thread=thread.name)
        self._threads = []
        if self._app is not None:
            self._app.close()
            self._app = None
        if self._store is not None:
            self._store.close()
            self._store = None
        super().close()

    # -- recording -----------------------------------------------------------------------
    def _record(self, entry: RecordEntry) -> None:
        attempt = attempt_from_entry(entry)
        with self._changed:
            self._records.append(attempt)
            self._changed.notify_all()

    def report_error(self, text: str) -> None:
        """Note a failure of the harness itself (shown when a wait times out)."""
        with self._changed:
            self._errors.append(text)
            self._changed.notify_all()

    def attempts(self) -> list[Attempt]:
        with self._changed:
            return list(self._records)

    @property
    def errors(self) -> list[str]:
        """Failures of the harness's own threads (broker or state store trouble)."""
        with self._changed:
            return list(self._errors)

    def _wait(
        self, condition: Callable[[], bool], timeout: float, message: Callable[[], str]
    ) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimedOut(f"timed out after {timeout:.1f}s waiting for {message()}")
                self._changed.wait(left)

    def diagnostics(self) -> str:
        errors = self.errors
        if not errors:
            return ""
        return "harness errors:\n" + "\n".join(f"  - {text}" for text in errors[-10:])
