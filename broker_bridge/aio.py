"""The asyncio publisher: ``await AsyncPublisher.publish(event)``.

Used by asyncio applications and by the HTTP ingress. It is a thin shell over the
sync :class:`~broker_bridge.publisher.Publisher` (same encoding, confirms, pool,
reconnect and retry bounds — no second implementation): every call runs the sync
publisher in a thread of a private executor with as many threads as the
publisher's pool has connections, so concurrent coroutines publish in parallel
on separate connections while the event loop stays free.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import TypeVar

from cloudevents.core.base import BaseCloudEvent

from broker_bridge.config import Settings, get_settings
from broker_bridge.publisher import EventLike, Mode, Publisher
from broker_bridge.publisher_pool import OutgoingMessage, RetryPolicy

__all__ = ["AsyncPublisher"]

T = TypeVar("T")


class AsyncPublisher:
    """Publishes CloudEvents from coroutines; an async context manager."""

    def __init__(
        self,
        url: str | None = None,
        *,
        settings: Settings | None = None,
        mode: Mode | None = None,
        pool_size: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        settings = settings or get_settings()
        size = pool_size or settings.publisher_pool_size
        self.sync = Publisher(url, settings=settings, mode=mode, pool_size=size, retry=retry)
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="eventfn-pub")

    @property
    def url(self) -> str:
        return self.sync.url

    async def _run(self, func: Callable[..., T], *args: object, **kwargs: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(func, *args, **kwargs))

    async def publish(
        self, event: EventLike, *, retry: RetryPolicy | None = None
    ) -> BaseCloudEvent:
        """Publish one event; returns once the broker confirmed it."""
        return await self._run(self.sync.publish, event, retry=retry)

    async def publish_many(
        self, events: Iterable[EventLike], *, retry: RetryPolicy | None = None
    ) -> list[BaseCloudEvent]:
        """Publish every event (pipelined); returns after the broker confirmed each."""
        return await self._run(self.sync.publish_many, list(events), retry=retry)

    async def publish_to_function(
        self, function: str, event: EventLike, *, retry: RetryPolicy | None = None
    ) -> BaseCloudEvent:
        """Put ``event`` straight onto ``function``'s queue, confirmed."""
        return await self._run(self.sync.publish_to_function, function, event, retry=retry)

    async def send(
        self, messages: Sequence[OutgoingMessage], *, retry: RetryPolicy | None = None
    ) -> None:
        """Publish prepared messages, confirmed."""
        await self._run(self.sync.send, messages, retry=retry)

    async def ready(self) -> bool:
        """Whether the broker is reachable now."""
        return await self._run(self.sync.ready)

    async def aclose(self) -> None:
        """Wait for running publishes, then close every connection."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, functools.partial(self._executor.shutdown, wait=True))
        self.sync.close()

    async def __aenter__(self) -> AsyncPublisher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
