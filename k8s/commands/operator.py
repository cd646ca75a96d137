"""``eventfn operator``: reconcile Function resources and (unless ``--keda``) autoscale them.

In its default mode the operator renders each Function's ServiceAccount and Deployment
and runs eventfn's autoscaler loop (Kubernetes actuator, push activation) over the
Functions it knows. With ``--keda`` it renders a ScaledObject per Function instead and
leaves scaling to KEDA. SIGINT/SIGTERM stop it. Needs the ``k8s`` extra (the
``kubernetes`` client), imported when the command runs so ``--help`` works without it.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

from broker_bridge import connection
from broker_bridge.commands.options import broker_option, log_options
from broker_bridge.config import get_settings
from broker_bridge.health import start_health
from broker_bridge.logs import configure_logging
from k8s.autoscaler import ActivationListener, Autoscaler
from k8s.commands.options import management_option, namespace_option
from k8s.metrics import open_metrics_source

__all__ = ["command"]


@click.command("operator")
@namespace_option
@click.option("--keda", is_flag=True, help="Render KEDA ScaledObjects; do not autoscale.")
@click.option("--interval", type=float, default=2.0, show_default=True, help="Autoscaler poll (s).")
@click.option(
    "--resync", type=float, default=300.0, show_default=True, help="Relist Functions every S s."
)
@click.option("--kubeconfig", default=None, help="Kubeconfig file (default: in-cluster).")
@broker_option
@management_option
@log_options
def command(
    namespace: str,
    keda: bool,
    interval: float,
    resync: float,
    kubeconfig: str | None,
    broker_url: str | None,
    management_url: str | None,
    log_format: str | None,
    log_level: str | None,
) -> None:
    """Turn Function resources into Deployments (and scale them, or leave it to KEDA).

    Needs the k8s extra: pip install 'eventfn[k8s]'.
    """
    # the kubernetes client is the k8s extra: imported here, so --help works without it
    from kubernetes import client  # noqa: PLC0415

    from k8s.actuators.deployment import DeploymentScaler  # noqa: PLC0415
    from k8s.actuators.kubernetes import KubernetesActuator  # noqa: PLC0415
    from k8s.kubeconfig import api_client  # noqa: PLC0415
    from k8s.operator import Operator  # noqa: PLC0415

    settings = get_settings(broker_url=broker_url, log_format=log_format, log_level=log_level)
    configure_logging(settings.log_format, settings.log_level)
    api = api_client(kubeconfig)
    stop = threading.Event()
    health, server = start_health(settings)

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    autoscaler = None
    threads: list[threading.Thread] = []
    listener = None
    if not keda:
        url = connection.broker_url(settings)
        metrics = open_metrics_source(url, management_url)
        actuator = KubernetesActuator(DeploymentScaler(client.AppsV1Api(api), namespace))
        autoscaler = Autoscaler([], metrics, actuator, interval=interval, health=health)
        listener = ActivationListener(url, autoscaler.activate, settings=settings).start()
        threads.append(
            threading.Thread(target=autoscaler.run, args=(stop,), name="eventfn-autoscaler")
        )
    for thread in threads:
        thread.start()
    try:
        Operator(
            api,
            namespace,
            keda=keda,
            autoscaler=autoscaler,
            resync_seconds=resync,
            health=health,
        ).run(stop)
    finally:
        stop.set()
        if server is not None:
            server.close()
        if listener is not None:
            listener.stop()
        for thread in threads:
            thread.join(timeout=30)
