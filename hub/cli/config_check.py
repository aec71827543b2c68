"""`venue-hub config check -c FILE`: the config, the inventory and the database URL, checked without
starting anything; `OK …` and exit 0, or every problem as `FILE:LINE: field: problem` and exit 2."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hub.cli.common import EXIT_CRITICAL, config_option, inventory_or_exit, redacted_url, settings_or_exit
from hub.db.engine import DatabaseUrlError, normalise_url


@click.group("config")
def config_group() -> None:
    """Check the hub's config file."""


@config_group.command("check")
@config_option
def check(config_path: Path) -> None:
    """Validate the config file and its inventory; exit 2 naming each problem."""
    settings = settings_or_exit(config_path)
    try:
        normalise_url(settings.hub.database)
    except (DatabaseUrlError, ValueError) as exc:
        click.echo(f"{config_path}: hub.database: {exc}", err=True)
        sys.exit(EXIT_CRITICAL)
    inventory = inventory_or_exit(settings)
    inside = inventory.in_scope(settings.hub.scope)
    outside = len(inventory.venues) - len(inside)
    note = f" ({outside} outside the scope, ignored)" if outside else ""
    click.echo(
        f"OK {config_path}: scope {settings.hub.scope}, database {redacted_url(settings.hub.database)}, "
        f"{len(inside)} venue(s) in the inventory{note}, {len(settings.sink)} sink(s)"
        + (
            f", board on {settings.web.listen} with {len(settings.web.account)} account(s)"
            if settings.web.listen
            else ""
        )
    )
