"""Options shared by several ``eventfn`` subcommands (broker URL, logging)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

__all__ = ["broker_option", "log_options"]

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
