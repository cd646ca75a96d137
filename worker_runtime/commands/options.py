"""The ``--functions`` option shared by commands that load functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from worker_runtime.loading import DEFAULT_FUNCTIONS

__all__ = ["functions_option"]

F = TypeVar("F", bound=Callable[..., Any])


def functions_option(func: F) -> F:
    return click.option(
        "--functions",
        "functions_module",
        metavar="MODULE",
        default=DEFAULT_FUNCTIONS,
        show_default=True,
        help="Module(s) or .py file(s), comma-separated, whose @function handlers to load.",
    )(func)
