"""The ``eventfn`` command: a root group whose subcommands come from entry points.

Each package contributes its commands through the ``eventfn.commands`` entry-point
group (see setup.cfg), loaded lazily, so this module never imports the packages
above ``broker_bridge`` and ``eventfn --help`` stays fast. Errors from eventfn
(:class:`~broker_bridge.errors.EventfnError`) become one line on stderr and exit 1.

A command that needs an optional dependency names its extra in its entry point
(``operator = k8s.commands.operator:command [k8s]``) and imports that dependency only
when it runs, so ``--help`` works after a plain install; running it without the extra
is one line saying which extra to install.
"""

from __future__ import annotations

import re
from importlib.metadata import entry_points, requires
from typing import Any

import click

from broker_bridge.errors import EventfnError

__all__ = ["main", "root"]


class LazyGroup(click.Group):
    """A click group whose commands are entry points, imported on first use."""

    def _entry_points(self) -> dict[str, Any]:
        return {ep.name: ep for ep in entry_points(group="eventfn.commands")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self._entry_points())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        ep = self._entry_points().get(cmd_name)
        if ep is None:
            return None
        try:
            command = ep.load()
        except ModuleNotFoundError as exc:
            raise _missing_extra(cmd_name, list(ep.extras), exc) from exc
        if not isinstance(command, click.Command):
            raise click.ClickException(f"entry point {ep.value} is not a click command")
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EventfnError as exc:
            raise click.ClickException(str(exc)) from exc
        except ModuleNotFoundError as exc:
            name = ctx.invoked_subcommand or ""
            ep = self._entry_points().get(name)
            if ep is None or not ep.extras:
                raise
            raise _missing_extra(name, list(ep.extras), exc) from exc


def _extra_modules(extras: list[str]) -> set[str]:
    """Top-level module names of the distributions ``extras`` of eventfn require."""
    modules = set()
    for requirement in requires("eventfn") or ():
        name, _, marker = requirement.partition(";")
        if any(f'extra == "{extra}"' in marker for extra in extras):
            dist = re.split(r"[\s<>=!~\[(]", name.strip(), maxsplit=1)[0]
            modules.add(dist.replace("-", "_").lower())
    return modules


def _missing_extra(
    command: str, extras: list[str], exc: ModuleNotFoundError
) -> click.ClickException | ModuleNotFoundError:
    """One line naming the extra a command needs, when the module it could not import
    is one of that extra's requirements (any other missing module stays as it is)."""
    missing = (exc.name or "").split(".")[0]
    if not extras or missing not in _extra_modules(extras):
        return exc
    extra = ",".join(extras)
    return click.ClickException(
        f"eventfn {command} needs the {extra!r} extra (no module named {exc.name!r}): "
        f"pip install 'eventfn[{extra}]'"
    )


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="eventfn")
def root() -> None:
    """eventfn: CloudEvents in, autoscaled Python functions out.

    With no EVENTFN_BROKER_URL, everything runs on the embedded broker under
    ./.eventfn (no external service needed).
    """
    from broker_bridge.tracing.sdk import setup_tracing  # noqa: PLC0415 - keep --help fast

    setup_tracing(f"eventfn-{click.get_current_context().invoked_subcommand}")


def main() -> None:
    """Console-script entry point."""
    root.main(prog_name="eventfn")


if __name__ == "__main__":  # pragma: no cover
    main()
