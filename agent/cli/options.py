"""Options several `venue-agent` commands share, kept apart from what renders their output, so that
declaring a command loads click alone (the views load rich, the probes their stacks, when run)."""

from __future__ import annotations

from pathlib import Path

import click

PROBLEMS_OPTION = click.option(
    "--problems", "problems_only", is_flag=True, help="Only the summary line and what is not ok (a quick look)."
)
CONFIG_OPTION = click.option(
    "-c",
    "--config",
    "config_path",
    required=True,
    type=click.Path(path_type=Path),
    help="The venue's TOML config file.",
)
