"""`venue-hub run -c FILE`: the long-running ingest service, in the foreground (systemd runs it so), and the
web board beside it when `[web] listen` is set."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click

from contract.secrets import SecretError, resolve_password
from hub.cli.common import EXIT_CRITICAL, config_option, database_or_exit, inventory_or_exit, settings_or_exit


@click.command("run")
@config_option
@click.option(
    "--instance",
    default=None,
    help="This process's name within its shared-subscription group (overrides [hub] instance).",
)
def run(config_path: Path, instance: str | None) -> None:
    """Ingest the scope's MQTT traffic into the database until SIGTERM/SIGINT."""
    settings = settings_or_exit(config_path)
    if instance is not None:
        try:
            hub = type(settings.hub).model_validate({**settings.hub.model_dump(), "instance": instance})
        except ValueError as exc:
            click.echo(f"--instance: {exc}", err=True)
            sys.exit(EXIT_CRITICAL)
        settings = settings.model_copy(update={"hub": hub})
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
    inventory = inventory_or_exit(settings)
    engine = database_or_exit(settings)
    desk = None
    if settings.sink:
        from hub.db.engine import writer_engine
        from hub.incidents.desk import IncidentDesk

        desk = IncidentDesk(writer_engine(engine), settings.sink)  # the desk writes its ledger: IMMEDIATE on SQLite
    from hub.ingest.service import IngestService

    service = IngestService(settings, engine, inventory, password, desk)
    board = None
    if settings.web.listen is not None:  # the board beside the ingest, in a thread of its own
        from hub.web.server import BoardThread, make_server
        from hub.web.sessions import SecretFileError

        try:
            board = BoardThread(make_server(settings, engine, password)).start()
        except SecretFileError as exc:
            click.echo(str(exc), err=True)
            sys.exit(EXIT_CRITICAL)
        logging.getLogger("hub.web").info("board: serving on http://%s/", settings.web.listen)
    try:
        code = asyncio.run(service.run())
    finally:
        if board is not None:
            board.stop()
    sys.exit(code)
