"""The autoscaled local workers of ``eventfn dev``: :class:`k8s.dev.autoscaling.LocalAutoscaling`
in a thread of its own, started again with new functions after a reload.

Stopping sets the autoscaler's stop event: it stops every worker gracefully (SIGTERM,
Celery's warm shutdown: running handlers finish, prefetched messages are requeued)
and the thread ends once they all exited. :meth:`Workers.kill` is the second Ctrl-C.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

from broker_bridge.config import Settings
from k8s.actuators.local import Replica
from k8s.dev.autoscaling import LocalAutoscaling
from k8s.dev.view import WorkerCount
from k8s.scaling import ScalingPolicy
from worker_runtime.registry import Registry

__all__ = ["Workers"]


class Workers:
    """Every function of ``functions_module`` scaled as local worker processes."""

    def __init__(
        self,
        functions_module: str,
        *,
        broker_url: str,
        state_dir: Path,
        settings: Settings,
        policy: ScalingPolicy,
        interval: float,
        management_url: str | None,
        log_dir: Path | None,
        metrics_dir: Path,
        env: Mapping[str, str],
    ) -> None:
        self.functions_module = functions_module
        self.broker_url = broker_url
        self.state_dir = state_dir
        self.settings = settings
        self.policy = policy
        self.interval = interval
        self.management_url = management_url
        self.log_dir = log_dir
        self.metrics_dir = metrics_dir
        self.env = dict(env)
        self._scaling: LocalAutoscaling | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping: list[Replica] = []

    def start(self, registry: Registry) -> Workers:
        self._stop = threading.Event()
        self._scaling = LocalAutoscaling(
            self.functions_module,
            broker_url=self.broker_url,
            state_dir=self.state_dir,
            policy=self.policy,
            interval=self.interval,
            management_url=self.management_url,
            log_dir=self.log_dir,
            registry=registry,
            settings=self.settings,
            env=self.env,
            metrics_dir=self.metrics_dir,
        )
        self._thread = threading.Thread(
            target=self._scaling.run, args=(self._stop,), name="eventfn-autoscaler"
        )
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """Let the autoscaler stop its workers (returns at once; :meth:`join` waits)."""
        if self._scaling is not None:
            self._stopping = self._scaling.actuator.all_replicas()
        self._stop.set()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()
        self._scaling = None
        self._thread = None

    def stop(self) -> None:
        """Stop every worker gracefully; returns once they all exited."""
        self.request_stop()
        self.join()

    def kill(self) -> None:
        """SIGKILL every worker and its pool now (safe in a signal handler)."""
        replicas = list(self._stopping)
        scaling = self._scaling
        if scaling is not None:
            replicas += scaling.actuator.all_replicas()
        for replica in replicas:
            replica.process.kill_now()

    def count(self, function: str) -> WorkerCount:
        """``(running, busy)`` workers of ``function`` (those stopping not counted)."""
        scaling = self._scaling
        if scaling is None:
            return (0, 0)
        running = [r for r in scaling.actuator.replicas(function) if not r.stopping]
        return len(running), sum(1 for r in running if r.in_flight() > 0)

    def pids(self) -> list[int]:
        """The workers' pids (each the leader of its process group)."""
        scaling = self._scaling
        if scaling is None:
            return []
        return [replica.proc.pid for replica in scaling.actuator.all_replicas()]
