"""What both test harnesses offer: publish, send, wait for outcomes, read dead letters.

:class:`Harness` holds the shared API of the pytest plugin's ``eventfn`` fixture
(:class:`~worker_runtime.testing.inprocess.InProcessHarness`: bridge and workers as
threads of the test process) and ``eventfn_processes`` fixture
(:class:`~worker_runtime.testing.multiprocess.ProcessHarness`: real ``eventfn``
subprocesses). Subclasses say where the recorded deliveries come from
(:meth:`Harness.attempts`) and how to wait for new ones.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from cloudevents.core.base import BaseCloudEvent

from broker_bridge.config import Settings
from broker_bridge.connection import broker_url
from broker_bridge.publisher import EventLike, Publisher
from worker_runtime import dlq
from worker_runtime.registry import Registry
from worker_runtime.sending import close_publishers, send
from worker_runtime.testing.records import Attempt, DeadLetter, Handled, dead_letter_from_message
from worker_runtime.testing.waiting import TimedOut, wait_until

__all__ = ["DEFAULT_TIMEOUT", "FunctionRef", "Harness"]

#: Seconds ``wait_for`` and ``wait_for_dead_letters`` wait by default.
DEFAULT_TIMEOUT = 10.0

#: A function by name, or the decorated handler itself.
FunctionRef = str | Callable[..., Any]

_DLQ_POLL = 0.05


class Harness:
    """A running eventfn (bridge + one worker per function) to test functions against."""

    def __init__(self, registry: Registry, settings: Settings) -> None:
        self.registry = registry
        self.settings = settings
        self.url = broker_url(settings)
        self._publisher: Publisher | None = None
        self._saved_env: dict[str, str | None] = {}

    # -- lifecycle (subclasses extend start/close) ------------------------------------
    def start(self) -> Self:
        self._saved_env = {key: os.environ.get(key) for key in ("EVENTFN_BROKER_URL",)}
        # handlers and test code calling f.send(...) or Publisher() reach this broker
        os.environ["EVENTFN_BROKER_URL"] = self.url
        self._publisher = Publisher(self.url, settings=self.settings)
        return self

    def close(self) -> None:
        if self._publisher is not None:
            self._publisher.close()
            self._publisher = None
        close_publishers()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = {}

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- what subclasses provide -------------------------------------------------------
    def attempts(self) -> list[Attempt]:
        """Every recorded delivery so far, in the order they ended."""
        raise NotImplementedError

    def _wait(
        self, condition: Callable[[], bool], timeout: float, message: Callable[[], str]
    ) -> None:
        """Block until ``condition()`` holds; raise TimedOut after ``timeout`` seconds."""
        wait_until(condition, timeout=timeout, interval=0.02, message=message)

    def diagnostics(self) -> str:
        """Extra text for timeout messages (errors seen, where the logs are)."""
        return ""

    def check_alive(self) -> None:
        """Raise when the harness can no longer make progress (a process exited)."""

    # -- publishing --------------------------------------------------------------------
    @property
    def functions(self) -> list[str]:
        return self.registry.names()

    def _name(self, function: FunctionRef) -> str:
        if isinstance(function, str):
            name = function
        else:
            name = getattr(getattr(function, "send", None), "function", None) or ""
            if not name:
                raise TypeError(f"{function!r} is not a function name or an @function handler")
        self.registry.get(name)  # UnknownFunction for a typo
        return name

    @property
    def publisher(self) -> Publisher:
        if self._publisher is None:
            raise RuntimeError("the harness is not started")
        return self._publisher

    def publish(self, event: EventLike) -> str:
        """Publish ``event`` (a CloudEvent or a dict of attributes and ``data``) to the
        bridge, which routes it by the functions' subscriptions; returns its id."""
        return str(self.publisher.publish(event).get_id())

    def send(self, function: FunctionRef, data: Any = None, **attributes: Any) -> str:
        """Put an event straight onto ``function``'s queue (``f.send``); returns its id."""
        return send(
            self._name(function),
            data,
            publisher=self.publisher,
            registry=self.registry,
            **attributes,
        )

    # -- outcomes ----------------------------------------------------------------------
    def handled(self, function: FunctionRef) -> list[Handled]:
        """Events ``function`` finished with so far (ok, dead-lettered or duplicate)."""
        name = self._name(function)
        return [a.handled for a in self.attempts() if a.function == name and a.handled]

    @property
    def replies(self) -> list[BaseCloudEvent]:
        """Every event the handlers returned (as published to the bridge), in order."""
        return [reply for a in self.attempts() if a.handled for reply in a.handled.replies]

    def wait_for(
        self, function: FunctionRef, count: int = 1, timeout: float = DEFAULT_TIMEOUT
    ) -> list[Handled]:
        """Block until ``function`` finished ``count`` events (succeeded, dead-lettered
        or skipped as duplicates); returns :meth:`handled`. Raises TimedOut listing what
        was recorded."""
        name = self._name(function)
        self._wait(
            lambda: len(self.handled(name)) >= count,
            timeout,
            lambda: self._describe_wait(name, count),
        )
        return self.handled(name)

    def dead_letters(self, function: FunctionRef) -> list[DeadLetter]:
        """The messages in ``function``'s dead-letter queue now (left in the queue)."""
        name = self._name(function)
        return [
            dead_letter_from_message(name, message)
            for message in dlq.list_dead_letters(self.settings, name)
        ]

    def wait_for_dead_letters(
        self, function: FunctionRef, count: int = 1, timeout: float = DEFAULT_TIMEOUT
    ) -> list[DeadLetter]:
        """Block until ``function``'s dead-letter queue holds ``count`` messages."""
        name = self._name(function)
        letters: list[DeadLetter] = []

        def enough() -> bool:
            self.check_alive()
            letters[:] = self.dead_letters(name)
            return len(letters) >= count

        try:
            wait_until(enough, timeout=timeout, interval=_DLQ_POLL, message="dead letters")
        except TimedOut:
            raise TimedOut(
                f"timed out after {timeout:.1f}s waiting for {count} dead letter(s) of "
                f"{name!r}: the queue holds {len(letters)}\n{self._summary(name)}"
            ) from None
        return letters

    # -- messages ----------------------------------------------------------------------
    def _summary(self, name: str) -> str:
        attempts = self.attempts()
        mine = [a for a in attempts if a.function == name]
        lines = [f"recorded for {name!r}: {len(mine)} deliver{'y' if len(mine) == 1 else 'ies'}"]
        lines += [f"  - {a.describe()}" for a in mine[-20:]]
        others: dict[str, int] = {}
        for a in attempts:
            if a.function != name and a.handled:
                others[a.function] = others.get(a.function, 0) + 1
        if others:
            finished = ", ".join(f"{fn}: {n}" for fn, n in sorted(others.items()))
            lines.append(f"other functions finished: {finished}")
        extra = self.diagnostics()
        if extra:
            lines.append(extra)
        return "\n".join(lines)

    def _describe_wait(self, name: str, count: int) -> str:
        done = len(self.handled(name))
        return f"{count} event(s) finished by {name!r} (have {done})\n{self._summary(name)}"
