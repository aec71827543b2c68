"""`venue-hub`: the hub's command line (click). Each command lives in its own module of hub/cli/.

Commands are imported when they are run, not when the program starts, so that `venue-hub venues`
does not pay for the spreadsheet library of `review` or the MQTT client of `rollcall`.
"""

from __future__ import annotations

import importlib

import click


class LazyGroup(click.Group):
    """A click group whose commands are named here as `module:attribute` and imported on first use."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, str] = {}

    def add_lazy(self, name: str, target: str) -> None:
        self.lazy[name] = target

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            module, attribute = self.lazy[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup)
@click.version_option(package_name="venue-agent", prog_name="venue-hub")
def main() -> None:
    """The provincial (or prefecture) hub of the venue agents: ingest, venues, schedule, roll call."""


main.add_lazy("config", "hub.cli.config_check:config_group")
main.add_lazy("run", "hub.cli.run:run")
main.add_lazy("venues", "hub.cli.venues:venues")
main.add_lazy("schedule", "hub.cli.schedule:schedule_group")
main.add_lazy("rollcall", "hub.cli.rollcall:rollcall")
main.add_lazy("serve", "hub.cli.serve:serve")
main.add_lazy("passwd", "hub.cli.passwd:passwd")
main.add_lazy("acl", "hub.cli.acl:acl")

# ---- Commands registered by the sinks/reports engineer (one line each, below this marker) -------------
main.add_lazy("review", "hub.cli.review:review_command")
main.add_lazy("evaluate", "hub.cli.evaluate:evaluate_command")
main.add_lazy("incidents", "hub.incidents.cli:incidents_command")
