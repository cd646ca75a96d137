"""Options shared by ``eventfn autoscale``, ``operator`` and ``manifests``: the scaling
policy given to every function, the namespace, the management URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from k8s.scaling import ScalingPolicy

__all__ = ["management_option", "namespace_option", "policy_from_options", "policy_options"]

F = TypeVar("F", bound=Callable[..., Any])
_DEFAULTS = ScalingPolicy()


def policy_options(func: F) -> F:
    """``--min-replicas``, ``--max-replicas``, ``--target-backlog``, ``--cooldown``,
    ``--stabilization``, ``--max-step`` (defaults: :class:`k8s.scaling.ScalingPolicy`)."""
    options = [
        ("--min-replicas", "min_replicas", int, "Replicas kept when idle (0: scale to zero)."),
        ("--max-replicas", "max_replicas", int, "Upper bound of replicas per function."),
        ("--target-backlog", "target_backlog", int, "Messages (ready + unacked) per replica."),
        ("--cooldown", "cooldown_seconds", int, "Idle seconds before scaling 1 -> 0."),
        (
            "--stabilization",
            "scale_down_stabilization_seconds",
            int,
            "Scale down to the highest recommendation of this many seconds.",
        ),
        ("--max-step", "scale_up_max_step", int, "Replicas added by one decision at most."),
    ]
    for flag, name, kind, text in reversed(options):
        func = click.option(
            flag, name, type=kind, default=getattr(_DEFAULTS, name), show_default=True, help=text
        )(func)
    return func


def policy_from_options(options: dict[str, Any]) -> ScalingPolicy:
    """The :class:`ScalingPolicy` of the policy options among a command's keyword args."""
    fields = ScalingPolicy.model_fields
    try:
        return ScalingPolicy(**{k: v for k, v in options.items() if k in fields})
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def namespace_option(func: F) -> F:
    return click.option(
        "--namespace",
        envvar="EVENTFN_NAMESPACE",
        default="eventfn",
        show_default=True,
        help="Kubernetes namespace (env EVENTFN_NAMESPACE).",
    )(func)


def management_option(func: F) -> F:
    return click.option(
        "--management-url",
        envvar="EVENTFN_MANAGEMENT_URL",
        default=None,
        metavar="URL",
        help="RabbitMQ management API (http://user:pass@host:15672): counts unacknowledged "
        "messages too; without it, a passive AMQP declare sees ready messages only "
        "(env EVENTFN_MANAGEMENT_URL).",
    )(func)
