"""What ``eventfn dev`` writes while it runs: the view of queues and workers, and the
output of its processes.

On a terminal, a rich ``Live`` table is refreshed in place at the bottom and every
process's log lines scroll above it (:class:`LogFollower` tails their log files and
prints each line prefixed with the process name). Otherwise the processes write to
``eventfn dev``'s own stdout/stderr and :class:`ViewThread` logs one plain structlog
record per queue every few seconds, only when a count changed.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from pathlib import Path

import structlog
from rich.console import Console
from rich.live import Live
from rich.text import Text

from k8s.dev.view import (
    Snapshot,
    SnapshotCollector,
    change_key,
    plain_records,
    render_snapshot,
    with_rates,
)

__all__ = ["LogFollower", "ViewThread"]

log = structlog.get_logger("eventfn.dev")

#: Rates are measured over about this many seconds.
RATE_WINDOW = 5.0
_STYLES = ("cyan", "magenta", "green", "yellow", "blue", "bright_cyan", "bright_magenta")


class ViewThread:
    """Collects a snapshot every ``interval`` s; shows it in ``live`` or, without one,
    logs it at most every ``plain_interval`` s when it changed. ``on_snapshot`` is
    called with each snapshot (rates included) in this thread."""

    def __init__(
        self,
        collector: SnapshotCollector,
        *,
        live: Live | None,
        interval: float = 1.0,
        plain_interval: float = 5.0,
        on_snapshot: Callable[[Snapshot], None] | None = None,
        title: str = "eventfn dev",
    ) -> None:
        self.collector = collector
        self.live = live
        self.interval = interval
        self.plain_interval = plain_interval
        self._on_snapshot = on_snapshot
        self.title = title
        self._stop = threading.Event()
        self._history: collections.deque[Snapshot] = collections.deque()
        self._printed: object = None
        self._printed_at = 0.0
        self.latest: Snapshot | None = None
        self._thread = threading.Thread(target=self._run, name="eventfn-view", daemon=True)

    def start(self) -> ViewThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # the view must never take eventfn dev down
                log.exception("view update failed")
            self._stop.wait(self.interval)

    def tick(self) -> Snapshot:
        snapshot = self.collector.collect()
        while self._history and snapshot.at - self._history[0].at > RATE_WINDOW:
            self._history.popleft()
        snapshot = with_rates(self._history[0] if self._history else None, snapshot)
        self._history.append(snapshot)
        self.latest = snapshot
        if self._on_snapshot is not None:
            self._on_snapshot(snapshot)
        if self.live is not None:
            self.live.update(render_snapshot(snapshot, title=self.title))
        else:
            self._log(snapshot)
        return snapshot

    def _log(self, snapshot: Snapshot) -> None:
        key = change_key(snapshot)
        if key == self._printed or snapshot.at - self._printed_at < self.plain_interval:
            return
        self._printed, self._printed_at = key, snapshot.at
        for record in plain_records(snapshot):
            log.info("dev status", **record)
        for problem in snapshot.problems:
            log.warning("dev status incomplete", problem=problem)


class LogFollower:
    """Tails every ``*.log`` file of ``directory`` (new ones included) and prints each
    complete line to ``console`` as ``name | line``."""

    def __init__(self, directory: Path, console: Console, *, interval: float = 0.2) -> None:
        self.directory = directory
        self.console = console
        self.interval = interval
        self._offsets: dict[Path, int] = {}
        self._partial: dict[Path, bytes] = {}
        self._styles: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="eventfn-logs", daemon=True)

    def start(self) -> LogFollower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.poll()  # the last lines the processes wrote while stopping

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except OSError:  # a file rotated or removed under us: next poll starts over
                continue

    def poll(self) -> None:
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob("*.log")):
            offset = self._offsets.get(path, 0)
            with path.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
            if not chunk:
                continue
            self._offsets[path] = offset + len(chunk)
            data = self._partial.pop(path, b"") + chunk
            *lines, rest = data.split(b"\n")
            if rest:
                self._partial[path] = rest
            for line in lines:
                self._print(path.stem, line.decode(errors="replace").rstrip("\r"))

    def _print(self, name: str, line: str) -> None:
        style = self._styles.setdefault(name, _STYLES[len(self._styles) % len(_STYLES)])
        prefix = Text(f"{name[:18]:>18} | ", style=style)
        self.console.print(prefix + Text.from_ansi(line), soft_wrap=True, highlight=False)
