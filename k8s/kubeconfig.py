"""A ``kubernetes`` API client: in-cluster config when running in a pod, else kubeconfig.

Used by ``eventfn autoscale --actuator kubernetes``, ``eventfn operator`` and the
Subscription source; tests build their own ``ApiClient`` against an in-test server.
"""

from __future__ import annotations

from kubernetes import client, config

__all__ = ["api_client"]


def api_client(kubeconfig: str | None = None, context: str | None = None) -> client.ApiClient:
    """Client for the cluster this process runs in, or the kubeconfig's (current) context."""
    configuration = client.Configuration()
    if kubeconfig is None and context is None:
        try:
            config.load_incluster_config(client_configuration=configuration)
            return client.ApiClient(configuration)
        except config.ConfigException:
            pass
    config.load_kube_config(
        config_file=kubeconfig, context=context, client_configuration=configuration
    )
    return client.ApiClient(configuration)
