"""The autoscaler with local worker processes, ready to run in a thread.

Public API (what ``eventfn autoscale --actuator local`` runs, and what ``eventfn dev``
starts in a thread instead of one fixed worker per function)::

    scaling = LocalAutoscaling("functions", broker_url=url, state_dir=Path(".eventfn"))
    thread = threading.Thread(target=scaling.run, args=(stop_event,))
    thread.start(); ...; stop_event.set(); thread.join()

:meth:`LocalAutoscaling.run` consumes push activations (``eventfn.activate``), runs the
control loop until ``stop`` is set, then stops every worker gracefully (SIGTERM; each
finishes its handler within the function's timeout plus drain time).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import structlog

from broker_bridge.config import Settings
from k8s.actuators.local import LocalProcessActuator
from k8s.autoscaler.activation import ActivationListener
from k8s.autoscaler.loop import Autoscaler, FunctionStatus
from k8s.metrics.sources import open_metrics_source
from k8s.metrics.stats import MetricsSource
from k8s.registry import scaled_function
from k8s.scaling import ScalingPolicy
from worker_runtime.loading import load_functions
from worker_runtime.registry import Registry

__all__ = ["LocalAutoscaling"]

log = structlog.get_logger("eventfn.autoscaler")


class LocalAutoscaling:
    """Every function of ``functions_module`` scaled as local ``eventfn worker`` processes.

    ``policy``: one policy for all, or per function name (missing names: the default
    policy). ``registry``: the already loaded registry (default: load the module).
    ``metrics``: a source to use instead of the broker's default one. ``env``: the
    workers' environment (default: this process's). ``on_decision``: called after each
    decision (in the loop's thread).
    """

    def __init__(
        self,
        functions_module: str,
        *,
        broker_url: str,
        state_dir: Path,
        policy: ScalingPolicy | Mapping[str, ScalingPolicy] | None = None,
        interval: float = 2.0,
        activation: bool = True,
        management_url: str | None = None,
        log_dir: Path | None = None,
        metrics_dir: Path | None = None,
        registry: Registry | None = None,
        metrics: MetricsSource | None = None,
        settings: Settings | None = None,
        pool: str = "prefork",
        env: Mapping[str, str] | None = None,
        on_decision: Callable[[FunctionStatus], None] | None = None,
    ) -> None:
        registry = registry if registry is not None else load_functions(functions_module)
        self.broker_url = broker_url
        self.settings = settings or Settings(broker_url=broker_url)
        self.activation = activation
        self.actuator = LocalProcessActuator(
            functions_module,
            state_dir=Path(state_dir),
            broker_url=broker_url,
            log_dir=log_dir,
            metrics_dir=metrics_dir,
            pool=pool,
            env=env,
        )
        self.metrics = metrics or open_metrics_source(broker_url, management_url)
        functions = [scaled_function(spec, _policy_for(policy, spec.name)) for spec in registry]
        self.autoscaler = Autoscaler(
            functions, self.metrics, self.actuator, interval=interval, on_decision=on_decision
        )
        self.listener: ActivationListener | None = None

    def run(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set; then stop the workers gracefully and return."""
        if self.activation:
            self.listener = ActivationListener(
                self.broker_url, self.autoscaler.activate, settings=self.settings
            ).start()
        try:
            self.autoscaler.run(stop)
        finally:
            if self.listener is not None:
                self.listener.stop()
            log.info("stopping local workers")
            self.actuator.close()
            self.metrics.close()


def _policy_for(
    policy: ScalingPolicy | Mapping[str, ScalingPolicy] | None, name: str
) -> ScalingPolicy:
    if policy is None:
        return ScalingPolicy()
    if isinstance(policy, ScalingPolicy):
        return policy
    return policy.get(name, ScalingPolicy())
