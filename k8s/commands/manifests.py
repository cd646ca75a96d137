"""``eventfn manifests``: Function and Subscription resources from the decorated functions.

Prints one YAML stream to apply with ``kubectl apply -f -``: a Function resource and
one Subscription per ``subscribe=`` filter for each function (the operator renders the
workloads); ``--keda`` adds a ScaledObject per function and the TriggerAuthentication
they use; ``--workloads`` adds each function's ServiceAccount and Deployment, for
clusters without the operator.
"""

from __future__ import annotations

from typing import Any, TextIO

import click

from k8s.commands.options import namespace_option, policy_from_options, policy_options
from k8s.registry import function_specs
from k8s.render import RenderSettings, render_manifests, to_yaml
from worker_runtime.commands.options import functions_option
from worker_runtime.loading import load_functions

__all__ = ["command"]


@click.command("manifests")
@functions_option
@click.option(
    "--image",
    default="eventfn:dev",
    show_default=True,
    help="Container image holding the functions' code (built FROM the eventfn image).",
)
@click.option(
    "--module",
    "image_module",
    default=None,
    metavar="MODULE",
    help="--functions value the workers get inside the image (default: --functions).",
)
@namespace_option
@click.option("--keda", is_flag=True, help="Add a KEDA ScaledObject per function.")
@click.option(
    "--workloads", is_flag=True, help="Add ServiceAccount + Deployment (no operator running)."
)
@click.option("-o", "--output", type=click.File("w"), default="-", help="File (default stdout).")
@policy_options
def command(
    functions_module: str,
    image: str,
    image_module: str | None,
    namespace: str,
    keda: bool,
    workloads: bool,
    output: TextIO,
    **policy: Any,
) -> None:
    """Print the Kubernetes resources of the functions (YAML, apply with kubectl)."""
    registry = load_functions(functions_module)
    specs = function_specs(
        registry,
        image=image,
        functions_module=image_module or functions_module,
        policy=policy_from_options(policy),
    )
    documents = render_manifests(
        specs, RenderSettings(namespace=namespace), workloads=workloads, keda=keda
    )
    output.write(to_yaml(documents))
