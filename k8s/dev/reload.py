"""``eventfn dev --reload``: watch the functions' source files, load them afresh.

:func:`watch_roots` finds what to watch for a ``--functions`` spec (a package's
directories recursively, a module's or a ``.py`` file's own file);
:class:`SourceWatcher` runs ``watchfiles`` in threads and calls back with the changed
``.py`` files (debounced); :func:`load_fresh` drops the functions' modules from
``sys.modules`` and imports them into a new registry, so a broken edit is reported
without touching what runs.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import structlog
import watchfiles

from worker_runtime.loading import load_functions
from worker_runtime.registry import Registry, use_registry

__all__ = ["SourceWatcher", "WatchRoot", "load_fresh", "purge_modules", "shown", "watch_roots"]

log = structlog.get_logger("eventfn.dev")


@dataclass(frozen=True)
class WatchRoot:
    """A directory watched recursively (a package) or one file."""

    path: Path
    recursive: bool

    def covers(self, path: Path) -> bool:
        return path.is_relative_to(self.path) if self.recursive else path == self.path


def watch_roots(functions_module: str) -> list[WatchRoot]:
    """What to watch for ``functions_module`` (already imported by the caller)."""
    roots: list[WatchRoot] = []
    for item in filter(None, (part.strip() for part in functions_module.split(","))):
        if item.endswith(".py") or "/" in item:
            roots.append(WatchRoot(Path(item).resolve(), recursive=False))
            continue
        module = sys.modules.get(item)
        if module is None:
            continue
        locations = getattr(module, "__path__", None)
        if locations:
            roots += [WatchRoot(Path(location).resolve(), recursive=True) for location in locations]
        elif getattr(module, "__file__", None):
            roots.append(WatchRoot(Path(str(module.__file__)).resolve(), recursive=False))
    return roots


def purge_modules(roots: Iterable[WatchRoot]) -> list[str]:
    """Remove from ``sys.modules`` every module whose file a root covers; their names."""
    roots = list(roots)
    purged = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file:
            continue
        path = Path(file).resolve()
        if any(root.covers(path) for root in roots):
            del sys.modules[name]
            purged.append(name)
    return purged


def load_fresh(functions_module: str, roots: Iterable[WatchRoot]) -> Registry:
    """The functions as their files are now, in a new registry (the current one is
    left alone). Raises :class:`worker_runtime.errors.FunctionLoadError`."""
    purge_modules(roots)
    importlib.invalidate_caches()
    with use_registry() as registry:
        load_functions(functions_module)
    return registry


class SourceWatcher:
    """Calls ``on_change(paths)`` from a watcher thread when ``.py`` files under the
    roots change (``watchfiles``: inotify/FSEvents, debounced)."""

    def __init__(
        self,
        roots: Iterable[WatchRoot],
        on_change: Callable[[set[Path]], None],
        *,
        debounce_ms: int = 400,
    ) -> None:
        self.roots = list(roots)
        self._on_change = on_change
        self._debounce = debounce_ms
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> SourceWatcher:
        # watchfiles' recursion is per call: packages recursively, single files through
        # their directory without descending into it
        recursive = sorted({root.path for root in self.roots if root.recursive})
        files = sorted({root.path.parent for root in self.roots if not root.recursive})
        for paths, deep in ((recursive, True), (files, False)):
            if paths:
                thread = threading.Thread(
                    target=self._watch, args=(paths, deep), name="eventfn-reload", daemon=True
                )
                thread.start()
                self._threads.append(thread)
        return self

    def _accept(self, _change: watchfiles.Change, path: str) -> bool:
        resolved = Path(path).resolve()
        return resolved.suffix == ".py" and any(root.covers(resolved) for root in self.roots)

    def _watch(self, paths: list[Path], recursive: bool) -> None:
        try:
            for changes in watchfiles.watch(
                *paths,
                watch_filter=self._accept,
                debounce=self._debounce,
                recursive=recursive,
                stop_event=self._stop,
                raise_interrupt=False,
            ):
                self._on_change({Path(path) for _change, path in changes})
        except Exception:  # a watcher failing must not take eventfn dev down
            log.exception("file watcher failed; --reload is off from now on")

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)


def shown(what: WatchRoot | Path) -> str:
    """A path for the user: relative to the current directory when under it; a
    directory watched recursively ends with ``/``."""
    path = what.path if isinstance(what, WatchRoot) else what
    suffix = "/" if isinstance(what, WatchRoot) and what.recursive else ""
    with contextlib.suppress(ValueError):
        return f"{path.resolve().relative_to(Path.cwd())}{suffix}"
    return f"{path}{suffix}"
