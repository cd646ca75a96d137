"""Pipelined publisher confirms: publish many messages, then wait once for the broker.

Used by the publisher SDK (``publish_many``), the HTTP ingress (202 only after the
confirm) and the bridge (ack the input only after every fan-out publish is
confirmed). One :class:`ConfirmingPublisher` wraps one kombu connection and owns a
channel of its own on it::

    with ConfirmingPublisher(confirming_connection(settings)) as out:
        for body in bodies:
            out.publish(body, "eventfn.bridge", declare=topology.bridge_queue())
        out.wait()          # raises an UnconfirmedPublish naming what was not confirmed

Design:

* **RabbitMQ (py-amqp)**: the channel is put in confirm mode (``confirm.select``)
  once; every ``basic.publish`` gets the next delivery tag (1, 2, ...). Publishing
  does not wait; the broker's ``basic.ack``/``basic.nack`` (``multiple`` meaning
  "every tag up to this one") are read by :meth:`ConfirmingPublisher.wait`, which
  drains the connection until no tag is outstanding. Messages are ``mandatory``:
  one that no queue takes comes back as ``basic.return`` (before its ack) and is
  reported as :class:`PublishUnroutable` instead of vanishing. At most ``window``
  messages are outstanding; a publish beyond that first reads confirms, so memory
  and the broker's buffers stay bounded for any batch size.
  The connection must not use kombu's ``confirm_publish`` transport option, which
  makes py-amqp wait for a confirm after every single publish (the ~1.6k msg/s
  ceiling this module exists to lift): build it with :func:`confirming_connection`
  or :func:`without_per_message_confirms`.
* **Redis and the embedded SQLite broker** (kombu virtual transports): a publish
  is a synchronous command (``LPUSH``, an ``INSERT`` committed before it returns),
  so when ``publish`` returns the broker has the message; there is nothing to
  confirm and :meth:`ConfirmingPublisher.wait` only resets the count.

Every message goes through the default exchange (``""``) with the queue name as
routing key (see :mod:`broker_bridge.topology`); queues passed as ``declare`` are
declared once per channel. Any failure leaves the publisher ready for the next
batch: a connection error drops the channel (the next publish opens a new one on
the reconnected connection), so callers can re-publish what was not confirmed.
Reconnect and retry policy is the caller's (see :mod:`broker_bridge.publisher`).

Errors (all :class:`~broker_bridge.errors.PublishError`)::

    UnconfirmedPublish            .failed: {position in the batch: reason}
    ├── PublishNacked             the broker refused (basic.nack)
    ├── PublishUnroutable (LookupError)     no queue took it (basic.return)
    ├── PublishTooLarge (ValueError)        never sent: over the broker's limits
    ├── BrokerBlocked (ConnectionError)     connection.blocked: a resource alarm
    ├── ConfirmTimeout (TimeoutError)       no confirm within the timeout
    └── ConfirmConnectionLost (ConnectionError)  the connection broke first

Liveness (RabbitMQ): the connection has heartbeats and socket deadlines
(:func:`confirming_connection`); the confirm wait reads in slices of at most one
second and ticks the heartbeat between them, so a silent broker ends the wait as a
lost connection within two heartbeat intervals, and a failed connection is
discarded without waiting for any close-ok. On ``connection.blocked`` (a memory
or disk alarm) a wait ends at once and every publish fails fast with
:class:`BrokerBlocked` until ``connection.unblocked`` arrives (read before each
publish); the connection is kept, so the unblock is seen.

A message that cannot fit the connection's limits (:mod:`broker_bridge.limits`:
headers over the negotiated ``frame_max``, body over the broker's max message
size) is not sent at all: it is recorded as failed and the rest of the batch goes
on, on the same channel (a broker would close the whole connection, or the
channel, for it). :meth:`ConfirmingPublisher.wait` then raises
:class:`PublishTooLarge` naming it.
"""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict, deque
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from kombu import Connection, Producer, Queue
from kombu.exceptions import OperationalError

from broker_bridge.config import Settings
from broker_bridge.connection import broker_url, deadline_options, transport_options
from broker_bridge.errors import ConfigurationError, PublishError
from broker_bridge.limits import MessageLimits, MessageTooLarge, check_message

__all__ = [
    "BrokerBlocked",
    "ConfirmConnectionLost",
    "ConfirmTimeout",
    "ConfirmingPublisher",
    "PublishNacked",
    "PublishTooLarge",
    "PublishUnroutable",
    "UnconfirmedPublish",
    "confirming_connection",
    "without_per_message_confirms",
]


class UnconfirmedPublish(PublishError):
    """Some messages of a batch were not confirmed by the broker.

    ``failed`` maps each such message's position in the batch (0-based, counted
    from the last :meth:`ConfirmingPublisher.wait`) to the reason; ``total`` is the
    batch size. Every position not in ``failed`` was confirmed.
    """

    def __init__(self, what: str, failed: Mapping[int, str], total: int) -> None:
        self.failed = dict(failed)
        self.total = total
        reasons = sorted(set(self.failed.values()))
        super().__init__(
            f"{len(self.failed)} of {total} message(s) unconfirmed: {what}"
            + (f" ({'; '.join(reasons[:3])})" if reasons else "")
        )

    @property
    def unconfirmed(self) -> int:
        return len(self.failed)


class PublishNacked(UnconfirmedPublish):
    """The broker answered ``basic.nack``: it could not take the messages."""


class PublishUnroutable(UnconfirmedPublish, LookupError):
    """A mandatory message reached no queue (``basic.return``), e.g. a missing queue."""


class PublishTooLarge(UnconfirmedPublish, ValueError):
    """Messages over the broker's limits were not sent (see :mod:`broker_bridge.limits`)."""


class BrokerBlocked(UnconfirmedPublish, ConnectionError):
    """The broker blocked publishing (``connection.blocked``: a memory or disk alarm)."""


class ConfirmTimeout(UnconfirmedPublish, TimeoutError):
    """The broker did not confirm within the timeout (the messages may still arrive)."""


class ConfirmConnectionLost(UnconfirmedPublish, ConnectionError):
    """The connection broke before the broker confirmed (re-publish ``failed``)."""


def without_per_message_confirms(connection: Connection) -> Connection:
    """A clone of ``connection`` without kombu's per-message ``confirm_publish``."""
    options = {
        key: value
        for key, value in (connection.transport_options or {}).items()
        if key != "confirm_publish"
    }
    return connection.clone(transport_options=options)


def confirming_connection(settings: Settings, url: str | None = None) -> Connection:
    """A kombu connection (not yet connected) for a :class:`ConfirmingPublisher`."""
    url = url or broker_url(settings)
    options = {
        key: value
        for key, value in transport_options(settings, url).items()
        if key != "confirm_publish"
    }
    options.update(deadline_options(settings, url))
    return Connection(
        url,
        transport_options=options,
        connect_timeout=settings.connect_timeout,
        heartbeat=settings.broker_heartbeat,
    )


class ConfirmingPublisher:
    """Publishes to queues through one channel and waits for the broker's confirms.

    Not thread-safe: one per thread (or per pooled connection). ``timeout`` bounds
    each :meth:`wait` (seconds); ``window`` bounds the outstanding messages.
    """

    def __init__(
        self,
        connection: Connection,
        *,
        timeout: float = 10.0,
        window: int = 1000,
        limits: MessageLimits | None = None,
    ) -> None:
        if (connection.transport_options or {}).get("confirm_publish"):
            raise ConfigurationError(
                "ConfirmingPublisher needs a connection without the confirm_publish transport "
                "option (it waits per message); use confirming_connection() or "
                "without_per_message_confirms()"
            )
        if window < 1:
            raise ConfigurationError(f"confirm window must be at least 1, got {window}")
        self.connection = connection
        self.timeout = timeout
        self.window = window
        #: frame_max here applies where none is negotiated (Redis, embedded)
        self.default_limits = limits or MessageLimits()
        self._limits = self.default_limits
        self._channel: Any = None
        self._producer: Producer | None = None
        self._raw_connection: Any = None
        self._declared: set[str] = set()
        self._native = False
        self._next_tag = 1  # the delivery tag the channel gives the next publish
        self._blocked: str | None = None  # the broker's reason while it blocks publishing
        self._reset_batch()

    # -- state ---------------------------------------------------------------------
    def _reset_batch(self) -> None:
        self._count = 0  # messages published in this batch
        self._outstanding: OrderedDict[int, int] = OrderedDict()  # delivery tag -> position
        self._by_key: dict[str, deque[int]] = {}  # routing key -> positions (for returns)
        self._failed: dict[int, str] = {}
        self._returned = False
        self._too_large = False

    @property
    def native_confirms(self) -> bool:
        """Whether the broker confirms publishes (RabbitMQ) or takes them synchronously."""
        self._ensure_channel()
        return self._native

    @property
    def limits(self) -> MessageLimits:
        """The limits of this connection (connects if need be): the negotiated frame_max.

        Raises an :class:`UnconfirmedPublish` leaf when the broker cannot be reached.
        """
        try:
            self._ensure_channel()
        except self.connection.channel_errors as exc:
            self._broken(f"channel error: {exc}", exc)
        except self._connection_errors() as exc:
            self._lost(exc)
        return self._limits

    @property
    def pending(self) -> int:
        """Messages published and not yet confirmed."""
        return len(self._outstanding)

    @property
    def published(self) -> int:
        """Messages published since the last :meth:`wait`."""
        return self._count

    def _ensure_channel(self) -> Any:
        raw = self.connection.connection if self.connection.connected else None
        if self._channel is not None and raw is self._raw_connection:
            return self._channel
        self._drop_channel()
        # one attempt: reconnect policy (how often, how long) is the caller's
        self.connection.ensure_connection(max_retries=0)
        channel = self.connection.channel()
        self._native = getattr(self.connection.transport, "driver_type", "") == "amqp"
        if self._native:
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            channel.events["basic_return"].add(self._on_return)
            self._producer = None
        else:
            self._producer = Producer(channel)
        self._channel = channel
        self._raw_connection = self.connection.connection
        self._blocked = None
        if self._native:
            self._raw_connection.on_blocked = self._on_blocked
            self._raw_connection.on_unblocked = self._on_unblocked
        frame_max = getattr(self._raw_connection, "frame_max", None) if self._native else None
        self._limits = (
            MessageLimits(frame_max, self.default_limits.max_message)
            if isinstance(frame_max, int) and frame_max > 0
            else self.default_limits
        )
        self._next_tag = 1
        return channel

    def _drop_channel(self, *, close: bool = True) -> None:
        channel, self._channel, self._producer = self._channel, None, None
        self._raw_connection = None
        self._declared.clear()
        if not close:  # the connection is suspect: no close-ok to wait for, ever
            with contextlib.suppress(Exception):
                self.connection.collect()
        elif channel is not None:
            # the channel or its connection may already be gone
            with contextlib.suppress(Exception):
                channel.close()

    @property
    def blocked(self) -> bool:
        """Whether the broker said it blocks this connection's publishes (not yet unblocked)."""
        return self._blocked is not None

    def _on_blocked(self, reason: str = "") -> None:
        self._blocked = reason or "connection blocked"

    def _on_unblocked(self) -> None:
        self._blocked = None

    def poll(self) -> None:
        """Read what the broker sent (unblock, heartbeats) without waiting; tick the
        heartbeat. Raises like :meth:`publish` when the connection is dead."""
        if not self.connection.connected:
            return
        if getattr(self.connection.transport, "driver_type", "") != "amqp":
            return
        try:
            self._read_pending()
        except self.connection.channel_errors as exc:
            self._broken(f"channel error: {exc}", exc)
        except self._connection_errors() as exc:
            self._lost(exc)

    def _read_pending(self) -> None:
        try:
            while True:
                self.connection.drain_events(timeout=0)
        except TimeoutError:
            pass
        self.connection.heartbeat_check()

    # -- broker callbacks (py-amqp, called while draining) ------------------------------
    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple, None)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple, "nacked by the broker")

    def _settle(self, delivery_tag: int, multiple: bool, failure: str | None) -> None:
        outstanding = self._outstanding
        if multiple:
            while outstanding:
                tag = next(iter(outstanding))
                if tag > delivery_tag:
                    break
                position = outstanding.popitem(last=False)[1]
                if failure is not None:
                    self._failed[position] = failure
        else:
            position_or_none = outstanding.pop(delivery_tag, None)
            if failure is not None and position_or_none is not None:
                self._failed[position_or_none] = failure

    def _on_return(self, exc: Exception, exchange: str, routing_key: str, message: Any) -> None:
        # RabbitMQ returns in publish order: the n-th return for a routing key is the
        # n-th message published to it that was not routed (in practice: all of them)
        positions = self._by_key.get(routing_key)
        self._returned = True
        self._declared.discard(routing_key)  # the queue is gone: declare it again next time
        if positions:
            self._failed[positions.popleft()] = f"unroutable: no queue {routing_key!r} ({exc})"

    # -- publishing ----------------------------------------------------------------
    def declare(self, queue: Queue) -> None:
        """Declare ``queue`` on this channel unless it was already declared."""
        try:
            channel = self._ensure_channel()
            if queue.name not in self._declared:
                queue(channel).declare()
                self._declared.add(queue.name)
        except self.connection.channel_errors as exc:
            self._broken(f"cannot declare {queue.name}: {exc}", exc)
        except self._connection_errors() as exc:
            self._lost(exc)

    def publish(
        self,
        body: bytes,
        routing_key: str,
        *,
        headers: Mapping[str, Any] | None = None,
        content_type: str | None = None,
        content_encoding: str | None = None,
        properties: Mapping[str, Any] | None = None,
        declare: Queue | None = None,
    ) -> int:
        """Publish one message to queue ``routing_key`` without waiting; its position.

        ``properties`` are AMQP basic properties (``correlation_id``, ``message_id``,
        ``expiration``...); ``delivery_mode`` defaults to 2 (persistent).
        """
        position = self._count
        try:
            channel = self._ensure_channel()
            if declare is not None:
                self.declare(declare)
            props = {"delivery_mode": 2, **(properties or {})}
            try:
                check_message(self._limits, body, headers, props, content_type, content_encoding)
            except MessageTooLarge as exc:  # never sent: the rest of the batch goes on
                self._failed[position] = f"too large: {exc}"
                self._too_large = True
                self._count += 1
                return position
            if self._native:
                if self._blocked is not None:
                    self._read_pending()  # an unblock may be waiting to be read
                if self._blocked is not None:
                    self._count += 1
                    self._fail_blocked(position)
                if len(self._outstanding) >= self.window:
                    self._drain_until(self.window - 1, self.timeout)
                message = channel.prepare_message(
                    body,
                    props.pop("priority", None),
                    content_type,
                    content_encoding,
                    dict(headers) if headers else None,
                    props,
                )
                channel.basic_publish(message, "", routing_key, True)
                self._outstanding[self._next_tag] = position
                self._next_tag += 1
                self._by_key.setdefault(routing_key, deque()).append(position)
            else:
                assert self._producer is not None
                self._producer.publish(
                    body,
                    routing_key=routing_key,
                    exchange="",
                    headers=dict(headers) if headers else {},
                    content_type=content_type,
                    content_encoding=content_encoding,
                    **props,
                )
        except BrokerBlocked:
            raise
        except UnconfirmedPublish as exc:  # from declare: this message was not sent either
            exc.failed.setdefault(position, "not sent")
            exc.total = max(exc.total, position + 1)
            raise
        except self.connection.channel_errors as exc:
            self._count += 1
            self._broken(f"channel error: {exc}", exc, current=position)
        except self._connection_errors() as exc:
            self._count += 1
            self._lost(exc, current=position)
        self._count += 1
        return position

    def wait(self, timeout: float | None = None) -> int:
        """Wait until the broker confirmed every message published since the last wait.

        Returns how many were published and confirmed; raises an
        :class:`UnconfirmedPublish` leaf naming the failed ones. Either way the next
        batch starts empty.
        """
        total = self._count
        try:
            if self._outstanding:
                self._drain_until(0, self.timeout if timeout is None else timeout)
            if self._failed or self._returned:
                cls: type[UnconfirmedPublish] = PublishNacked
                what = "refused by the broker"
                if self._returned:
                    cls, what = PublishUnroutable, "unroutable"
                elif self._too_large and all(
                    reason.startswith("too large") for reason in self._failed.values()
                ):
                    cls, what = PublishTooLarge, "over the broker's limits"
                raise cls(what, self._failed, total)
        finally:
            self._reset_batch()
        return total

    def _drain_until(self, at_most: int, timeout: float) -> None:
        """Read confirms until at most ``at_most`` are outstanding.

        Reads in slices of at most a second, ticking the heartbeat in between (a silent
        broker is a lost connection within two heartbeat intervals); ends at once when
        the broker blocks the connection.
        """
        deadline = time.monotonic() + timeout
        try:
            while len(self._outstanding) > at_most:
                if self._blocked is not None:
                    self._fail_blocked(None)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                try:
                    self.connection.drain_events(timeout=min(remaining, 1.0))
                except TimeoutError:
                    if time.monotonic() >= deadline:
                        raise
                if self._native:
                    self.connection.heartbeat_check()
        except TimeoutError:
            failed, total = self._failure("no confirm", None, discard=True)
            raise ConfirmTimeout(f"no confirm within {timeout:g}s", failed, total) from None
        except self.connection.channel_errors as exc:
            self._broken(f"channel error: {exc}", exc)
        except self._connection_errors() as exc:
            self._lost(exc)

    def _fail_blocked(self, current: int | None) -> None:
        """Fail the batch fast while the broker blocks; keep the connection (to see the
        unblock) and the channel (late confirms of this batch are ignored)."""
        reason = f"the broker blocks publishing: {self._blocked}"
        failed = {**self._failed, **dict.fromkeys(self._outstanding.values(), reason)}
        if current is not None:
            failed[current] = reason
        total = self._count
        self._reset_batch()
        raise BrokerBlocked(reason, failed, total)

    def _failure(
        self, reason: str, current: int | None, *, discard: bool = False
    ) -> tuple[dict[int, str], int]:
        """Every message of the batch not confirmed yet, then a fresh channel and batch
        (a fresh connection too when ``discard``: the old one is dropped unclosed)."""
        failed = {**self._failed, **dict.fromkeys(self._outstanding.values(), reason)}
        if current is not None:
            failed[current] = reason
        total = self._count
        self._drop_channel(close=not discard)
        self._reset_batch()
        return failed, total

    def _broken(self, what: str, exc: BaseException, current: int | None = None) -> None:
        failed, total = self._failure(what, current)
        raise UnconfirmedPublish(what, failed, total) from exc

    def _lost(self, exc: BaseException, current: int | None = None) -> None:
        failed, total = self._failure("connection lost", current, discard=True)
        raise ConfirmConnectionLost(f"connection lost: {exc}", failed, total) from exc

    def _connection_errors(self) -> tuple[type[BaseException], ...]:
        return (*self.connection.connection_errors, OperationalError, ConnectionError, OSError)

    # -- lifecycle -----------------------------------------------------------------
    def close(self) -> None:
        """Close the channel (not the connection, which the caller owns)."""
        self._drop_channel()
        self._reset_batch()

    def __enter__(self) -> ConfirmingPublisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
