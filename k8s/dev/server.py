"""``eventfn dev`` put together: ingress, bridge and autoscaled workers on one machine.

:class:`DevServer` runs ``eventfn ingress`` and ``eventfn bridge`` as supervised
subprocesses (:class:`worker_runtime.supervisor.ChildProcess`), the autoscaler with local worker
processes in a thread (:mod:`k8s.dev.workers`: :class:`k8s.dev.autoscaling.LocalAutoscaling`,
push activation on), the view (:mod:`k8s.dev.output`) and, with ``reload``, a watcher of the
functions' files (:mod:`k8s.dev.reload`) that restarts the bridge and the
workers (and the ingress when the set of functions changed) after an edit that
loads.

Stopping (SIGINT/SIGTERM): the ingress drains its requests, the bridge finishes its
batch, the workers finish their handlers (Celery's warm shutdown requeues what they
had prefetched), all at once; whatever was accepted stays on the broker for the next
run. A second signal kills every process at once (still nothing accepted is lost:
unacknowledged messages are redelivered).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import structlog
from rich.console import Console
from rich.live import Live

from broker_bridge.config import Settings
from broker_bridge.connection import mask_url
from broker_bridge.logs import configure_logging
from k8s.dev.banner import BannerInfo, banner
from k8s.dev.output import LogFollower, ViewThread
from k8s.dev.ports import ingress_url, listening, reserve_port
from k8s.dev.reload import SourceWatcher, WatchRoot, load_fresh, shown, watch_roots
from k8s.dev.state import (
    DevFunction,
    DevLock,
    DevState,
    counters_dir,
    logs_dir,
    remove_state,
    reset_dir,
    stop_orphans,
    write_state,
)
from k8s.dev.view import (
    MULTIPROC_ENV,
    Snapshot,
    SnapshotCollector,
    example_event_type,
    watched_functions,
)
from k8s.dev.workers import Workers
from k8s.metrics.sources import open_metrics_source
from k8s.scaling import ScalingPolicy
from worker_runtime.registry import Registry
from worker_runtime.supervisor import ChildProcess

__all__ = ["DevOptions", "DevServer", "broker_kind"]

log = structlog.get_logger("eventfn.dev")

_KINDS = {"sqlite": "embedded", "amqp": "RabbitMQ", "pyamqp": "RabbitMQ", "redis": "Redis"}
_BRIDGE_GRACE = 60.0
_TICK = 0.25


def broker_kind(url: str) -> str:
    scheme = urlsplit(url).scheme
    return _KINDS.get(scheme, "Redis" if scheme == "rediss" else scheme)


@dataclass(frozen=True)
class DevOptions:
    """How ``eventfn dev`` runs (the command's flags)."""

    functions_module: str
    host: str
    port: int
    reload: bool = True
    live: bool = False
    policy: ScalingPolicy = field(default_factory=ScalingPolicy)
    interval: float = 2.0
    management_url: str | None = None
    view_interval: float = 1.0
    plain_interval: float = 5.0


class DevServer:
    """One ``eventfn dev`` run: :meth:`run` blocks until stopped and returns 0."""

    def __init__(
        self,
        options: DevOptions,
        *,
        settings: Settings,
        registry: Registry,
        broker_url: str,
        console: Console,
    ) -> None:
        self.options = options
        self.settings = settings
        self.registry = registry
        self.broker_url = broker_url
        self.console = console
        self.state_dir = Path(settings.state_dir).resolve()
        self.port = options.port
        # set by signal handlers: plain flags, polled (a handler must not take locks)
        self._stop_requested = False
        self._reload_requested = False
        self._forced = False
        self._changes: set[Path] = set()
        self._changes_lock = threading.Lock()
        self._ready = False
        self._started_at = time.time()
        self.workers = Workers(
            options.functions_module,
            broker_url=broker_url,
            state_dir=self.state_dir,
            settings=settings,
            policy=options.policy,
            interval=options.interval,
            management_url=options.management_url,
            log_dir=logs_dir(self.state_dir) if options.live else None,
            metrics_dir=counters_dir(self.state_dir),
            env=self._env(),
        )
        self._roots: list[WatchRoot] = []
        self._watcher: SourceWatcher | None = None
        self._live: Live | None = None
        self._follower: LogFollower | None = None
        self._view: ViewThread | None = None
        self.ingress: ChildProcess | None = None
        self.bridge: ChildProcess | None = None

    @property
    def ingress_url(self) -> str:
        return ingress_url(self.options.host, self.port)

    # -- the run ---------------------------------------------------------------------
    def run(self) -> int:
        lock = DevLock(self.state_dir).acquire()
        try:
            stop_orphans(self.state_dir)
            self.port = reserve_port(self.options.host, self.options.port)
            previous = self._install_signals()
            try:
                self._start()
                self._loop()
            finally:
                self._shutdown()
                self._restore_signals(previous)
        finally:
            lock.release()
        return 0

    def _start(self) -> None:
        reset_dir(counters_dir(self.state_dir))
        live = self.options.live
        if live:
            reset_dir(logs_dir(self.state_dir))
        if self.options.reload:
            self._roots = watch_roots(self.options.functions_module)
        self.console.print(banner(self._banner_info()), soft_wrap=True)  # copy-pasteable
        if live:
            self._live = Live(console=self.console, refresh_per_second=4, transient=False)
            self._live.start()
            # from here on our own log lines go through the live display (above it)
            configure_logging(self.settings.log_format, self.settings.log_level, force=True)
            self._follower = LogFollower(logs_dir(self.state_dir), self.console).start()
        env = self._env()
        common = ["--functions", self.options.functions_module]
        self.ingress = ChildProcess(
            "ingress",
            ["ingress", *common, "--host", self.options.host, "--port", str(self.port)],
            env=env,
            log_path=self._log_path("ingress"),
            restart_backoff=1.0,
        ).start()
        self.bridge = ChildProcess(
            "bridge",
            ["bridge", *common],
            env=env,
            log_path=self._log_path("bridge"),
            restart_backoff=1.0,
        ).start()
        self.workers.start(self.registry)
        if self._roots:
            self._watcher = SourceWatcher(self._roots, self._changed).start()
        collector = SnapshotCollector(
            watched_functions(self.registry),
            open_metrics_source(self.broker_url, self.options.management_url),
            self.broker_url,
            counters_dir=counters_dir(self.state_dir),
            workers=self.workers.count,
        )
        self._view = ViewThread(
            collector,
            live=self._live,
            interval=self.options.view_interval,
            plain_interval=self.options.plain_interval,
            on_snapshot=self._write_state,
        ).start()
        log.info(
            "eventfn dev starting",
            ingress=self.ingress_url,
            broker=mask_url(self.broker_url),
            functions=self.registry.names(),
            reload=bool(self._roots),
        )

    def _loop(self) -> None:
        ingress_runs = 0
        while not self._stop_requested:
            for process in (self.ingress, self.bridge):
                if process is not None:
                    process.check()
            if self.ingress is not None and self.ingress.restarts != ingress_runs:
                ingress_runs = self.ingress.restarts
                self._ready = False  # say "ready" again once the new one listens
            if not self._ready and listening(self.options.host, self.port):
                self._ready = True
                log.info("eventfn dev ready", ingress=self.ingress_url)
            if self._take_changes():
                self._reload()
            time.sleep(_TICK)

    # -- pieces ----------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "EVENTFN_BROKER_URL": self.broker_url,
            "EVENTFN_STATE_DIR": str(self.state_dir),
            "EVENTFN_LOG_LEVEL": self.settings.log_level,
            # on the live view, processes log to files tailed above it: human-readable
            "EVENTFN_LOG_FORMAT": "console" if self.options.live else self.settings.log_format,
        }
        env.pop(MULTIPROC_ENV, None)
        return env

    def _log_path(self, name: str) -> Path | None:
        return logs_dir(self.state_dir) / f"{name}.log" if self.options.live else None

    def _write_state(self, snapshot: Snapshot) -> None:
        write_state(
            self.state_dir,
            DevState(
                pid=os.getpid(),
                broker=mask_url(self.broker_url),
                ingress=self.ingress_url,
                functions_module=self.options.functions_module,
                started_at=self._started_at,
                updated_at=snapshot.at,
                functions={
                    row.name: DevFunction(
                        subscriptions=row.subscriptions,
                        workers=row.workers or 0,
                        busy=row.busy or 0,
                        handled_per_second=row.handled_per_second,
                    )
                    for row in snapshot.functions
                },
                children=self._children(),
            ),
        )

    def _children(self) -> list[int]:
        pids = [p.pid for p in (self.ingress, self.bridge) if p is not None and p.started]
        return pids + self.workers.pids()

    def _banner_info(self) -> BannerInfo:
        specs = list(self.registry)
        return BannerInfo(
            ingress_url=self.ingress_url,
            broker=mask_url(self.broker_url),
            broker_kind=broker_kind(self.broker_url),
            functions=[(w.name, w.subscriptions) for w in watched_functions(self.registry)],
            policy=self.options.policy,
            example_type=example_event_type([list(spec.subscribe) for spec in specs]),
            watching=[shown(root) for root in self._roots],
            logs=str(logs_dir(self.state_dir)) if self.options.live else None,
            embedded=urlsplit(self.broker_url).scheme == "sqlite",
        )

    # -- reload ----------------------------------------------------------------------
    def _changed(self, paths: set[Path]) -> None:
        with self._changes_lock:
            self._changes |= paths

    def request_reload(self) -> None:
        """Reload as if a source file had changed (SIGHUP; safe in a signal handler)."""
        self._reload_requested = True

    def _take_changes(self) -> bool:
        with self._changes_lock:
            changes, self._changes = self._changes, set()
        requested, self._reload_requested = self._reload_requested, False
        if changes:
            log.info("functions changed", files=sorted(shown(path) for path in changes))
        return bool(changes) or requested

    def _reload(self) -> None:
        log.info("reloading the bridge and the workers")
        try:
            roots = self._roots or watch_roots(self.options.functions_module)
            registry = load_fresh(self.options.functions_module, roots)
        except Exception as exc:  # any error of the user's code: report, keep running
            log.error("reload failed; still running the previous version", error=str(exc))
            return
        names_changed = set(registry.names()) != set(self.registry.names())
        self.registry = registry
        assert self.bridge is not None  # started by _start
        assert self.ingress is not None
        self.bridge.signal_stop()
        if names_changed:
            self.ingress.signal_stop()
        self.workers.stop()
        self.bridge.wait(_BRIDGE_GRACE)
        self.bridge.start()
        if names_changed:
            self.ingress.wait(self.settings.ingress_graceful_timeout + 10)
            self._ready = False
            self.ingress.start()
        self.workers.start(registry)
        if self._view is not None:
            self._view.collector.set_functions(watched_functions(registry))
        log.info(
            "reloaded",
            functions={w.name: w.subscriptions for w in watched_functions(registry)},
        )

    # -- stopping --------------------------------------------------------------------
    def request_stop(self) -> None:
        """Stop gracefully (safe in a signal handler)."""
        self._stop_requested = True

    def _install_signals(self) -> dict[int, Any]:
        def on_stop(_signum: int, _frame: FrameType | None) -> None:
            if self._stop_requested:
                self._force()
            self.request_stop()

        def on_hup(_signum: int, _frame: FrameType | None) -> None:
            self.request_reload()

        handlers: dict[int, Callable[[int, FrameType | None], None]] = {
            signal.SIGINT: on_stop,
            signal.SIGTERM: on_stop,
            signal.SIGHUP: on_hup,
        }
        return {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}

    @staticmethod
    def _restore_signals(previous: dict[int, Any]) -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    def _force(self) -> None:
        """Second signal: kill everything now (runs in a signal handler: no logging)."""
        self._forced = True
        for process in (self.ingress, self.bridge):
            if process is not None:
                process.kill_now()
        self.workers.kill()

    def _shutdown(self) -> None:
        log.info("stopping: the ingress drains, the workers finish their handlers")
        if self._watcher is not None:
            self._watcher.stop()
        for process in (self.ingress, self.bridge):
            if process is not None:
                process.signal_stop()
        self.workers.request_stop()
        if self.ingress is not None:
            self.ingress.wait(self.settings.ingress_graceful_timeout + 10)
        if self.bridge is not None:
            self.bridge.wait(_BRIDGE_GRACE)
        self.workers.join()
        if self._view is not None:
            self._view.stop()
            with contextlib.suppress(Exception):  # the last picture is best effort
                self._view.tick()
        if self._follower is not None:
            self._follower.stop()
        if self._live is not None:
            self._live.stop()
        remove_state(self.state_dir)
        log.info("eventfn dev stopped", killed=self._forced)
