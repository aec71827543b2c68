"""What every `venue-hub` command shares: the `-c FILE` option, loading settings, opening the database,
and printing JSON the same way."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hub.config.inventory import Inventory, InventoryError, load_inventory
from hub.config.load import ConfigError, load_settings
from hub.config.models import HubSettings

if TYPE_CHECKING:
    from sqlalchemy import Engine

EXIT_OK, EXIT_WARNING, EXIT_CRITICAL, EXIT_UNKNOWN = 0, 1, 2, 3

config_option = click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The hub's config file (TOML).",
)


def settings_or_exit(path: Path) -> HubSettings:
    """The settings, or every problem on stderr and exit 2 (what `config check` prints)."""
    try:
        return load_settings(path)
    except ConfigError as exc:
        for issue in exc.issues:
            click.echo(issue.render(exc.path), err=True)  # the main file, or the accounts file it names
        click.echo(f"{len(exc.issues)} error(s)", err=True)
        sys.exit(EXIT_CRITICAL)


def inventory_or_exit(settings: HubSettings) -> Inventory:
    if settings.hub.inventory is None:
        return Inventory()
    try:
        return load_inventory(settings.hub.inventory)
    except InventoryError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        sys.exit(EXIT_CRITICAL)


def database_or_exit(settings: HubSettings) -> Engine:
    from hub.db.engine import open_database

    try:
        return open_database(settings.hub.database)
    except Exception as exc:  # any driver's connection error: say which database, not a traceback
        click.echo(f"cannot open the database {redacted_url(settings.hub.database)}: {exc}", err=True)
        sys.exit(EXIT_UNKNOWN)


def redacted_url(url: str) -> str:
    """The database URL with any password masked, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable URL>"


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))
