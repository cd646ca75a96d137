"""Liveness and readiness of a long-running eventfn process, served over HTTP.

Every long-running process (worker, bridge, operator, autoscaler) builds one
:class:`Health` and serves it with :func:`serve_health` on ``EVENTFN_HEALTH_PORT``
(8081 in the manifests and in the Deployments ``k8s.render`` writes); the ingress
answers the same two paths on its own HTTP port.

* ``GET /healthz`` (liveness): 200 while every registered loop has beaten within
  ``stale_after`` seconds (``EVENTFN_HEALTH_STALE_AFTER``, default 60), else 503. A
  loop beats from inside itself (the bridge's consume loop, the worker's event loop,
  the autoscaler's tick), so a wedged loop fails the probe and the kubelet restarts the
  pod. A loop that is waiting for its broker on purpose says so (:meth:`Health.waiting`)
  and stays live: an outage makes the pod unready, not restarted.
* ``GET /readyz`` (readiness): 200 while every readiness flag is set (broker connected,
  subscription table loaded, first list done), else 503 with the flags that are not.

Both answer ``application/json`` with each loop's age and each flag. The server is the
standard library's threading HTTP server on a daemon thread: it never blocks the loops
it reports on, and it needs no event loop of its own.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog

from broker_bridge.config import Settings

__all__ = ["Health", "HealthServer", "serve_health", "start_health"]

log = structlog.get_logger("eventfn.health")

DEFAULT_STALE_AFTER = 60.0


class Health:
    """Heartbeats of named loops and named readiness flags; thread-safe."""

    def __init__(
        self, *, stale_after: float = DEFAULT_STALE_AFTER, clock: Callable[[], float] | None = None
    ) -> None:
        self.stale_after = stale_after
        self._clock = clock or time.monotonic
        self._lock = threading.Lock()
        self._beats: dict[str, float] = {}
        self._waiting: dict[str, str] = {}
        self._ready: dict[str, bool] = {}

    # -- liveness ----------------------------------------------------------------------
    def beat(self, loop: str) -> None:
        """``loop`` is alive now (registers it on the first beat)."""
        now = self._clock()
        with self._lock:
            self._beats[loop] = now
            self._waiting.pop(loop, None)

    def waiting(self, loop: str, reason: str) -> None:
        """``loop`` is alive but blocked on purpose (reconnecting); live until it beats."""
        with self._lock:
            self._beats[loop] = self._clock()
            self._waiting[loop] = reason

    def forget(self, loop: str) -> None:
        """``loop`` ended normally (shutdown): stop requiring its beat."""
        with self._lock:
            self._beats.pop(loop, None)
            self._waiting.pop(loop, None)

    def live(self) -> tuple[bool, dict[str, Any]]:
        now = self._clock()
        with self._lock:
            loops: dict[str, Any] = {}
            ok = True
            for loop, at in sorted(self._beats.items()):
                if loop in self._waiting:
                    loops[loop] = {"waiting": self._waiting[loop]}
                    continue
                age = now - at
                fresh = age <= self.stale_after
                ok = ok and fresh
                loops[loop] = {"age_seconds": round(age, 3), "alive": fresh}
        return ok, {"status": "ok" if ok else "stale", "loops": loops}

    # -- readiness ---------------------------------------------------------------------
    def set_ready(self, flag: str, value: bool) -> None:
        """Set readiness flag ``flag`` (e.g. ``broker``, ``subscriptions``)."""
        with self._lock:
            self._ready[flag] = value

    def ready(self) -> tuple[bool, dict[str, Any]]:
        live, _ = self.live()
        with self._lock:
            flags = dict(sorted(self._ready.items()))
        ok = live and bool(flags) and all(flags.values())
        return ok, {"status": "ready" if ok else "not ready", "live": live, "checks": flags}


class HealthServer:
    """The HTTP server of one :class:`Health`; ``close()`` stops it."""

    def __init__(self, health: Health, host: str, port: int) -> None:
        self.health = health
        handler = _handler_for(health)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.5},
            daemon=True,
            name="eventfn-health",
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve_health(health: Health, port: int, host: str = "0.0.0.0") -> HealthServer:  # noqa: S104 - a pod's port
    """Serve ``/healthz`` and ``/readyz`` of ``health`` on ``host:port`` (0: any port)."""
    server = HealthServer(health, host, port)
    log.info("health endpoints serving", port=server.port)
    return server


def _handler_for(health: Health) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        server_version = "eventfn-health"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                ok, body = health.live()
            elif path == "/readyz":
                ok, body = health.ready()
            else:
                self._send(404, {"status": "not found", "paths": ["/healthz", "/readyz"]})
                return
            self._send(200 if ok else 503, body)

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Probes every few seconds: no access log."""

    return _Handler


def start_health(settings: Settings) -> tuple[Health, HealthServer | None]:
    """A :class:`Health` for this process, served when ``EVENTFN_HEALTH_PORT`` is set."""
    health = Health(stale_after=settings.health_stale_after)
    if settings.health_port is None:
        return health, None
    return health, serve_health(health, settings.health_port)
