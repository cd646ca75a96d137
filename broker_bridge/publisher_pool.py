"""A pool of confirming broker connections with bounded reconnect and re-publish.

The :class:`~broker_bridge.publisher.Publisher` (and through it the asyncio
publisher and the HTTP ingress) sends every batch of messages through
:meth:`ConfirmingPool.send`: take one :class:`~broker_bridge.confirms.ConfirmingPublisher`
from the pool (each on its own connection, opened on first use), publish the whole
batch without waiting, wait once for the broker's confirms, and re-publish only
the messages that were not confirmed (connection lost, timeout, nack, unroutable),
after a backoff, on a reconnected channel. After ``max_attempts`` attempts (or
when the deadline passes) it raises :class:`PublishRetriesExhausted` naming how
many messages are still unconfirmed: a message is confirmed or the caller hears
about it, never dropped silently. Re-publishing can duplicate a message whose
confirm was lost (at-least-once; consumers dedupe by the event's source and id).

The pool is thread-safe: up to ``size`` threads publish at once, each on its own
connection; more wait for a free one.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from kombu import Queue

from broker_bridge.config import Settings
from broker_bridge.confirms import ConfirmingPublisher, UnconfirmedPublish, confirming_connection
from broker_bridge.connection import check_broker, mask_url
from broker_bridge.errors import BrokerUnavailable, PublishError
from broker_bridge.limits import MessageLimits, check_message

#: Checks a whole batch against the connection's limits before anything is sent;
#: raises :class:`~broker_bridge.limits.MessageTooLarge` to refuse it.
Precheck = Callable[[MessageLimits], None]

__all__ = [
    "ConfirmingPool",
    "OutgoingMessage",
    "PublishRetriesExhausted",
    "RetryPolicy",
]

log = structlog.get_logger("eventfn.publisher")


class PublishRetriesExhausted(PublishError, ConnectionError):
    """Messages were still unconfirmed after every attempt the retry policy allows.

    ``unconfirmed`` is how many; ``attempts`` how many attempts were made; the last
    broker error is chained as ``__cause__``.
    """

    def __init__(self, url: str, unconfirmed: int, total: int, attempts: int, last: str) -> None:
        self.url = url
        self.unconfirmed = unconfirmed
        self.total = total
        self.attempts = attempts
        super().__init__(
            f"{unconfirmed} of {total} message(s) not confirmed by {url} after "
            f"{attempts} attempt(s): {last}"
        )


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message for a queue: body, AMQP headers and properties, queue to declare."""

    body: bytes
    routing_key: str
    headers: Mapping[str, Any] | None = None
    content_type: str | None = None
    content_encoding: str | None = None
    properties: Mapping[str, Any] | None = None
    declare: Queue | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to keep re-publishing: attempts (the first included), backoff, deadline."""

    max_attempts: int = 5
    interval_start: float = 0.2
    interval_max: float = 2.0
    deadline: float | None = None  # seconds for the whole send, all attempts included

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_attempts=settings.publish_max_attempts,
            interval_start=settings.publish_retry_interval,
            interval_max=settings.publish_retry_max_interval,
        )

    def interval(self, attempt: int) -> float:
        """Seconds to sleep after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.interval_start * 2.0 ** (attempt - 1), self.interval_max))


class ConfirmingPool:
    """Up to ``size`` :class:`ConfirmingPublisher` s, each on its own connection."""

    def __init__(
        self,
        settings: Settings,
        url: str,
        *,
        size: int | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.url = url
        self.size = size or settings.publisher_pool_size
        self.policy = policy or RetryPolicy.from_settings(settings)
        self._idle: queue.LifoQueue[ConfirmingPublisher] = queue.LifoQueue()
        self._all: list[ConfirmingPublisher] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.size)
        self._closed = False

    @contextmanager
    def acquire(self) -> Iterator[ConfirmingPublisher]:
        """A publisher for this thread alone; blocks while all ``size`` are in use."""
        if self._closed:
            raise PublishError("the publisher is closed")
        self._slots.acquire()
        try:
            try:
                out = self._idle.get_nowait()
            except queue.Empty:
                out = self._new()
            else:
                # read what came while idle (heartbeats, unblock); a dead connection is
                # dropped here and reopened by the publish, costing no attempt
                with contextlib.suppress(UnconfirmedPublish):
                    out.poll()
            try:
                yield out
            finally:
                self._idle.put(out)
        finally:
            self._slots.release()

    def _new(self) -> ConfirmingPublisher:
        conn = confirming_connection(self.settings, self.url)
        limits = MessageLimits(self.settings.broker_frame_max, self.settings.broker_max_message)
        out = ConfirmingPublisher(conn, timeout=self.settings.publish_timeout, limits=limits)
        with self._lock:
            self._all.append(out)
        return out

    def send(
        self,
        messages: Sequence[OutgoingMessage],
        policy: RetryPolicy | None = None,
        precheck: Precheck | None = None,
    ) -> None:
        """Publish every message and return once the broker confirmed each one.

        Before anything is sent, every message is checked against the connection's
        limits (and ``precheck`` run with them): one that cannot fit raises
        :class:`~broker_bridge.limits.MessageTooLarge` and none is published.
        Raises :class:`PublishRetriesExhausted` when the policy's attempts or
        deadline run out first (naming how many are still unconfirmed).
        """
        if not messages:
            return
        policy = policy or self.policy
        started = time.monotonic()
        todo = list(range(len(messages)))
        attempt = 0
        while True:
            attempt += 1
            remaining = None
            if policy.deadline is not None:
                remaining = max(policy.deadline - (time.monotonic() - started), 0.05)
            with self.acquire() as out:
                todo, last = _attempt(out, messages, todo, precheck, remaining)
            if not todo:
                return
            pause = policy.interval(attempt)
            out_of_time = (
                policy.deadline is not None
                and time.monotonic() - started + pause >= policy.deadline
            )
            if attempt >= policy.max_attempts or out_of_time:
                log.warning(
                    "publish failed", unconfirmed=len(todo), attempts=attempt, error=str(last)
                )
                raise PublishRetriesExhausted(
                    mask_url(self.url), len(todo), len(messages), attempt, str(last)
                ) from last
            log.info(
                "re-publishing unconfirmed messages",
                unconfirmed=len(todo),
                attempt=attempt,
                retry_in=pause,
                error=str(last),
            )
            time.sleep(pause)

    def check(self) -> bool:
        """Whether the broker is reachable now (one connection attempt, for readiness)."""
        try:
            check_broker(self.settings, self.url)
        except BrokerUnavailable:
            return False
        return True

    def close(self) -> None:
        """Close every channel and connection of the pool."""
        self._closed = True
        with self._lock:
            publishers, self._all = self._all, []
        for out in publishers:
            out.close()
            out.connection.release()


def _attempt(
    out: ConfirmingPublisher,
    messages: Sequence[OutgoingMessage],
    todo: list[int],
    precheck: Precheck | None,
    timeout: float | None = None,
) -> tuple[list[int], UnconfirmedPublish | None]:
    """Publish ``messages[i]`` for every i in ``todo``, wait; what failed and why.

    When ``publish`` itself raises (the connection broke mid-batch), the messages
    after it were never sent and fail too. A message over the limits raises
    MessageTooLarge before any is sent.
    """
    sent = 0
    try:
        limits = out.limits
        if precheck is not None:
            precheck(limits)
        for index in todo:
            m = messages[index]
            check_message(
                limits,
                m.body,
                m.headers,
                m.properties,
                m.content_type,
                m.content_encoding,
            )
        for index in todo:
            m = messages[index]
            out.publish(
                m.body,
                m.routing_key,
                headers=m.headers,
                content_type=m.content_type,
                content_encoding=m.content_encoding,
                properties=m.properties,
                declare=m.declare,
            )
            sent += 1
        out.wait(None if timeout is None else min(timeout, out.timeout))
    except UnconfirmedPublish as exc:
        failed = {p for p in exc.failed if 0 <= p < len(todo)} | set(range(sent, len(todo)))
        # a failure the broker did not attribute: re-publish all (at-least-once)
        return [todo[p] for p in sorted(failed)] if failed else list(todo), exc
    return [], None
