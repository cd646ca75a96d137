"""Options shared by several ``eventfn`` subcommands (broker URL, logging, the
subscription source of ``bridge`` and ``ingress``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import click

if TYPE_CHECKING:
    from broker_bridge.sources import SubscriptionSource

__all__ = ["broker_option", "log_options", "open_source_from", "source_options"]

F = TypeVar("F", bound=Callable[..., Any])


def broker_option(func: F) -> F:
    return click.option(
        "--broker",
        "broker_url",
        metavar="URL",
        default=None,
        help="amqp://, redis:// or sqlite:// URL (default: EVENTFN_BROKER_URL, "
        "else the embedded broker under the state directory).",
    )(func)


def log_options(func: F) -> F:
    func = click.option(
        "--log-format",
        type=click.Choice(["auto", "console", "json"]),
        default=None,
        help="Log rendering (default: EVENTFN_LOG_FORMAT or auto).",
    )(func)
    return click.option(
        "--log-level", default=None, help="Log level (default: EVENTFN_LOG_LEVEL or INFO)."
    )(func)


def source_options(func: F) -> F:
    """``--source``, ``--functions``, ``--subscriptions``, ``--namespace``, ``--kubeconfig``:
    where ``bridge`` and ``ingress`` read functions and subscriptions
    (:mod:`broker_bridge.sources`)."""
    options = [
        click.option(
            "--source",
            "source",
            envvar="EVENTFN_SOURCE",
            default=None,
            metavar="NAME",
            help="Subscription source: python (the --functions package; the default), "
            "file (--subscriptions FILE; the default when it is given) or k8s (Function and "
            "Subscription resources, watched). Env EVENTFN_SOURCE.",
        ),
        click.option(
            "--functions",
            "functions_module",
            metavar="MODULE",
            default=None,
            help="python source: module(s) or .py file(s), comma-separated, whose @function "
            "handlers to load (default: functions).",
        ),
        click.option(
            "--subscriptions",
            "subscriptions_file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            default=None,
            help="file source: YAML subscription table; reloaded when it changes.",
        ),
        click.option(
            "--namespace",
            envvar="EVENTFN_NAMESPACE",
            default="eventfn",
            show_default=True,
            help="k8s source: namespace of the resources (env EVENTFN_NAMESPACE).",
        ),
        click.option(
            "--kubeconfig", default=None, help="k8s source: kubeconfig (default: in-cluster)."
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def open_source_from(
    source: str | None,
    functions_module: str | None,
    subscriptions_file: Path | None,
    namespace: str,
    kubeconfig: str | None,
    *,
    needs: Literal["routing", "functions"] = "routing",
) -> SubscriptionSource:
    """The source the options name (``file`` when only ``--subscriptions`` is given)."""
    from broker_bridge.sources import SourceOptions, open_source  # noqa: PLC0415 - lazy --help

    name = source or ("file" if subscriptions_file is not None else "python")
    options = SourceOptions(
        functions_module=functions_module,
        subscriptions_file=subscriptions_file,
        namespace=namespace,
        kubeconfig=kubeconfig,
        needs=needs,
    )
    return open_source(name, options)
