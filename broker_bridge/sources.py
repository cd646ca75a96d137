"""Where the bridge and the ingress learn the functions and their subscriptions.

A :class:`SubscriptionSource` answers two questions, the same for both processes:
which subscriptions route events (:meth:`~SubscriptionSource.table`) and which
functions exist (:meth:`~SubscriptionSource.has_function`, what the ingress's
``POST /functions/NAME`` accepts). Sources are chosen by name through the entry-point
group ``eventfn.sources`` (as the CLI finds its commands), because each lives with its
concept and the layers forbid ``broker_bridge`` importing them:

* ``python`` (default; ``worker_runtime.subscriptions``): the ``@function`` registry of
  the ``--functions`` package, each function's ``subscribe=[...]`` one subscription.
* ``file`` (here): a YAML subscription table (``--subscriptions FILE``); its functions
  are the ones it names; reloaded when the file changes.
* ``k8s`` (``k8s.subscription_source``): Function and Subscription resources of the
  namespace, listed and watched; what the manifests' bridge and ingress use.

``watch(on_change, stop)`` runs in a thread of the caller and calls ``on_change()``
after every change of the source (the bridge then rebuilds its routing table between
two batches); ``ready()`` says whether the source has been read at least once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Literal, Protocol

import structlog
from pydantic import BaseModel, ConfigDict

from broker_bridge.errors import ConfigurationError
from broker_bridge.subscriptions import SubscriptionTable, load_yaml

__all__ = [
    "SOURCE_GROUP",
    "FileSource",
    "SourceOptions",
    "SubscriptionSource",
    "open_source",
    "source_names",
]

log = structlog.get_logger("eventfn.sources")

SOURCE_GROUP = "eventfn.sources"


class SourceOptions(BaseModel):
    """What a source may need; each uses its own fields."""

    model_config = ConfigDict(frozen=True)

    functions_module: str | None = None
    subscriptions_file: Path | None = None
    namespace: str = "eventfn"
    kubeconfig: str | None = None
    #: ``functions``: only function names are needed (the ingress), not subscriptions
    needs: Literal["routing", "functions"] = "routing"


class SubscriptionSource(Protocol):
    """The functions and subscriptions of one deployment of eventfn."""

    def table(self) -> SubscriptionTable:
        """The current, validated subscription table (raises when it is invalid)."""

    def has_function(self, name: str) -> bool:
        """Whether ``name`` is a function (for ``POST /functions/NAME``)."""

    def functions(self) -> frozenset[str]:
        """Every known function name."""

    def ready(self) -> bool:
        """Whether the source has been read (the table is loaded)."""

    def watch(self, on_change: Callable[[], None], stop: threading.Event) -> None:
        """Call ``on_change()`` after each change until ``stop`` (may return at once)."""


SourceFactory = Callable[[SourceOptions], SubscriptionSource]


def source_names() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=SOURCE_GROUP))


def open_source(name: str, options: SourceOptions) -> SubscriptionSource:
    """The source registered as ``name`` in ``eventfn.sources``, opened with ``options``."""
    found = {ep.name: ep for ep in entry_points(group=SOURCE_GROUP)}
    if name not in found:
        raise ConfigurationError(
            f"subscription source {name!r} is not installed (known: {', '.join(sorted(found))})"
        )
    factory: SourceFactory = found[name].load()
    return factory(options)


class FileSource:
    """A YAML subscription table; its functions are those it names."""

    POLL_SECONDS = 1.0

    def __init__(self, path: Path) -> None:
        self.path = path
        self._table = load_yaml(path)  # refuse a bad file before anything connects

    @classmethod
    def from_options(cls, options: SourceOptions) -> FileSource:
        if options.subscriptions_file is None:
            raise ConfigurationError("the file source needs --subscriptions FILE")
        return cls(options.subscriptions_file)

    def table(self) -> SubscriptionTable:
        self._table = load_yaml(self.path)
        return self._table

    def functions(self) -> frozenset[str]:
        return frozenset(self._table.functions)

    def has_function(self, name: str) -> bool:
        return name in self.functions()

    def ready(self) -> bool:
        return True

    def watch(self, on_change: Callable[[], None], stop: threading.Event) -> None:
        """Poll the file's modification time; a change calls ``on_change``."""
        last = self.path.stat().st_mtime_ns
        while not stop.wait(self.POLL_SECONDS):
            try:
                current = self.path.stat().st_mtime_ns
            except FileNotFoundError:
                continue
            if current != last:
                last = current
                log.info("subscriptions file changed", path=str(self.path))
                on_change()
