"""`venue-hub serve -c FILE`: the web board alone, in the foreground, until SIGTERM/SIGINT.

For an office that runs its ingest elsewhere (another machine, several `venue-hub run` processes on
PostgreSQL) and wants the board beside it: it reads the same database, polls `venue.changed_at` for live
tiles, and reaches the broker only when an operator starts a roll call or asks for pictures.
Exit codes: 0 stopped cleanly · 2 bad config (or no `[web] listen`) · 3 database unreachable.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from contract.secrets import SecretError, resolve_password
from hub.cli.common import EXIT_CRITICAL, config_option, database_or_exit, settings_or_exit


@click.command("serve")
@config_option
def serve(config_path: Path) -> None:
    """Serve the web board at [web] listen until SIGTERM/SIGINT (no ingest)."""
    settings = settings_or_exit(config_path)
    if settings.web.listen is None:
        click.echo(f'{config_path}: web.listen: required by venue-hub serve (e.g. listen = "127.0.0.1:8080")', err=True)
        sys.exit(EXIT_CRITICAL)
    logging.basicConfig(
        level=settings.hub.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        password = resolve_password(settings.broker)
    except SecretError as exc:
        click.echo(f"{config_path}: {exc}", err=True)
        sys.exit(EXIT_CRITICAL)
    engine = database_or_exit(settings)
    from hub.web.server import make_server
    from hub.web.sessions import SecretFileError

    try:
        server = make_server(settings, engine, password)
    except SecretFileError as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_CRITICAL)
    logging.getLogger("hub.web").info("board: serving on http://%s/", settings.web.listen)
    server.run()
    sys.exit(0)
