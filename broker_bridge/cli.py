"""The ``eventfn`` command: a root group whose subcommands come from entry points.

Each package contributes its commands through the ``eventfn.commands`` entry-point
group (see setup.cfg), loaded lazily, so this module never imports the packages
above ``broker_bridge`` and ``eventfn --help`` stays fast. Errors from eventfn
(:class:`~broker_bridge.errors.EventfnError`) become one line on stderr and exit 1.
"""

from __future__ import annotations

from importlib.metadata import entry_points
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
        command = ep.load()
        if not isinstance(command, click.Command):
            raise click.ClickException(f"entry point {ep.value} is not a click command")
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EventfnError as exc:
            raise click.ClickException(str(exc)) from exc


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
