"""The hub's database on the embedded SQLite and on a real PostgreSQL: migrations, one row per event id,
times that come back in UTC, and several processes opening (and migrating) one database at once."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub.db.engine import HEAD_REVISION, DatabaseUrlError, current_revision, head_revision, normalise_url, open_database
from hub.db.models import EventRecord, Venue

pytest_plugins = ["tests.peers.postgres"]  # the shared PostgreSQL server and the `database_url` fixture

EXPECTED_TABLES = {
    "venue",
    "venue_status",
    "availability_transition",
    "event",
    "seq_cursor",
    "seq_gap",
    "selftest_report",
    "conference_summary",
    "conference",
    "conference_venue",
    "rollcall",
    "rollcall_row",
    "hub_process",
    "incident",
    "incident_delivery",
}


def _insert_ignore(engine, table, rows):
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).values(rows).on_conflict_do_nothing().returning(table.c.id)


def test_migrated_to_head_with_every_table(database_url: str) -> None:
    engine = open_database(database_url)
    assert HEAD_REVISION is not None
    assert current_revision(engine) == head_revision() == HEAD_REVISION
    assert set(inspect(engine).get_table_names()) >= EXPECTED_TABLES
    # Opening again is a no-op (already at head).
    assert current_revision(open_database(database_url)) == HEAD_REVISION


def test_one_row_per_event_id_and_utc_times(database_url: str) -> None:
    engine = open_database(database_url)
    at = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    with Session(engine) as session:
        session.add(
            Venue(
                key="jilin/changchun/nongan/main",
                province="jilin",
                prefecture="changchun",
                county="nongan",
                venue_id="main",
                state="never",
            )
        )
        session.commit()
    row = {
        "id": "e1",
        "venue_key": "jilin/changchun/nongan/main",
        "seq": 1,
        "code": "agent.started",
        "severity": "info",
        "ts": at,
        "payload": {"zh": "中文"},
        "received_at": at,
    }
    with engine.begin() as connection:
        first = len(connection.execute(_insert_ignore(engine, EventRecord.__table__, [row])).all())
        second = len(connection.execute(_insert_ignore(engine, EventRecord.__table__, [row])).all())
    assert (first, second) == (1, 0)
    with Session(engine) as session:
        stored = session.scalars(select(EventRecord)).one()
        assert session.scalar(select(func.count()).select_from(EventRecord)) == 1
    assert stored.ts == at and stored.ts.tzinfo is not None and stored.ts.utcoffset() == timedelta(0)
    assert stored.payload == {"zh": "中文"}


def test_processes_opening_one_database_at_once_migrate_it_once(database_url: str) -> None:
    script = (
        "import sys; from hub.db.engine import open_database, current_revision; "
        "print(current_revision(open_database(sys.argv[1])))"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script, database_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    results = [p.communicate(timeout=60) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], [r[1][-500:] for r in results]
    assert [r[0].decode().strip() for r in results] == [HEAD_REVISION] * 3


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite://", "sqlite:///:memory:", "sqlite+pysqlcipher:///x"])
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(DatabaseUrlError):
        normalise_url(url)


def test_postgresql_url_uses_psycopg() -> None:
    assert normalise_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert datetime.now(UTC).tzinfo is UTC
