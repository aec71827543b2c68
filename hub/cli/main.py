"""`venue-hub`: the hub's command line (click). Each command lives in its own module of hub/cli/."""

from __future__ import annotations

import click

from hub.cli.config_check import config_group


@click.group()
@click.version_option(package_name="venue-agent", prog_name="venue-hub")
def main() -> None:
    """The provincial (or prefecture) hub of the venue agents: ingest, venues, schedule, roll call."""


main.add_command(config_group)

# ---- Commands registered by the sinks/reports engineer (one line each, below this marker) -------------
