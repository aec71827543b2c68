"""`venue-hub`: the hub's command line (click). Each command lives in its own module of hub/cli/."""

from __future__ import annotations

import click

from hub.cli.config_check import config_group
from hub.cli.rollcall import rollcall
from hub.cli.run import run
from hub.cli.schedule import schedule_group
from hub.cli.venues import venues


@click.group()
@click.version_option(package_name="venue-agent", prog_name="venue-hub")
def main() -> None:
    """The provincial (or prefecture) hub of the venue agents: ingest, venues, schedule, roll call."""


main.add_command(config_group)
main.add_command(run)
main.add_command(venues)
main.add_command(schedule_group)
main.add_command(rollcall)

# ---- Commands registered by the sinks/reports engineer (one line each, below this marker) -------------
main.add_command(__import__("hub.cli.review", fromlist=["review_command"]).review_command)
main.add_command(__import__("hub.cli.evaluate", fromlist=["evaluate_command"]).evaluate_command)
main.add_command(__import__("hub.incidents.cli", fromlist=["incidents_command"]).incidents_command)
