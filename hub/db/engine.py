"""`open_database(url)`: the one way into the hub's database — an Engine with the schema migrated to head.

- `sqlite:///PATH`: the embedded default. WAL journal (readers never block the ingest), `synchronous
  = NORMAL` (a crash loses no committed transaction; a power cut may lose the last one, which the
  broker then redelivers because the hub acknowledges a message only after its commit), a 30 s busy
  timeout (two processes on one file wait for each other instead of failing) and foreign keys on.
- `postgresql://…` (or `postgresql+psycopg://…`): a server, for several hub processes; reached
  through psycopg 3.

Several processes may open the same database at once (two hubs on one shared subscription start
together): the migration runs under a lock — a PostgreSQL advisory lock, or an exclusive `flock` on
`PATH.migrate.lock` beside the SQLite file — so exactly one of them migrates and the others find
the schema at head.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url

from hub.db.models import serialise_json

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _scan_head(versions: Path) -> str | None:
    """The newest revision in `versions`, read from the files' `revision`/`down_revision` lines.

    Read with a regular expression rather than by importing Alembic, so that a database already at head
    is recognised with one query (a CLI command starts faster); and read rather than written here, so a
    revision added later (another table's owner chaining onto ours) needs no edit of this file. A test
    checks it against Alembic's own view."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision = re.search(r"""^revision\s*=\s*["']([^"']+)["']""", source, re.MULTILINE)
        if revision is None:
            continue
        revisions.add(revision.group(1))
        parents.update(re.findall(r"""^down_revision\s*=\s*["']([^"']+)["']""", source, re.MULTILINE))
    heads = sorted(revisions - parents)
    return heads[0] if len(heads) == 1 else None  # several heads: let Alembic decide (and complain)


HEAD_REVISION = _scan_head(MIGRATIONS / "versions")
MIGRATION_LOCK_ID = 0x76656E75  # "venu": the advisory lock key the hub's migrations hold on PostgreSQL
SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITER_OPTION = "hub_sqlite_immediate"


class DatabaseUrlError(ValueError):
    """The `[hub] database` URL names no backend the hub supports."""


def normalise_url(url: str | URL) -> URL:
    """`postgresql://` → psycopg 3's driver; anything but SQLite or PostgreSQL is refused."""
    parsed = make_url(url) if isinstance(url, str) else url
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if parsed.drivername != "sqlite":
            raise DatabaseUrlError(f"use plain sqlite:///PATH, not {parsed.drivername}")
        if not parsed.database or parsed.database == ":memory:":
            raise DatabaseUrlError("an SQLite database needs a file path (sqlite:///PATH): memory is not shared")
        return parsed
    raise DatabaseUrlError(f"unsupported database {backend!r}: use sqlite:///PATH or postgresql://…")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(WRITER_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def writer_engine(engine: Engine) -> Engine:
    """The same engine (same pool) for a process's writing transactions: on SQLite they begin IMMEDIATE."""
    return engine.execution_options(**{WRITER_OPTION: True})


def create_hub_engine(url: str | URL) -> Engine:
    """An Engine for `url` without touching the schema (see `open_database`)."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)  # type: ignore[arg-type]
        engine = create_engine(
            parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, json_serializer=serialise_json
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling is switched off and BEGIN emitted here, so that a writer
        # (`writer_engine`) takes the write lock at its start (BEGIN IMMEDIATE, waiting up to the busy
        # timeout) instead of failing half-way when its snapshot went stale, while readers (the
        # commands, the reports) begin DEFERRED and, in WAL mode, never block the ingest.
        event.listen(engine, "connect", lambda conn, _r: setattr(conn, "isolation_level", None))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=5, json_serializer=serialise_json)


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection holding the hub's migration lock for the duration of the block."""
    if engine.dialect.name == "sqlite":
        lock_path = Path(f"{engine.url.database}.migrate.lock")
        with lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                with engine.connect() as connection:
                    yield connection
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_ID})
        connection.commit()
        try:
            yield connection
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_ID})
            connection.commit()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None when it was never migrated)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def head_revision() -> str | None:
    """The newest revision, as Alembic reads it from migrations/versions."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def open_database(url: str | URL) -> Engine:
    """An Engine on `url` whose schema is at the newest migration (migrating it first if needed)."""
    engine = create_hub_engine(url)
    if HEAD_REVISION is not None and current_revision(engine) == HEAD_REVISION:
        return engine
    from alembic import command

    with _migration_lock(engine) as connection:
        command.upgrade(alembic_config(connection), "head")
        connection.commit()
    return engine
