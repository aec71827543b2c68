"""A database made before revision 0002 (schema 0001, with venues, events and the incident tables the
desk used to create itself) upgrades in place: every row kept, the ledger adopted, `venue.changed_at`
added and filled from `state_since`; on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import Column, Integer, MetaData, String, Table, func, inspect, select

from hub.db.engine import HEAD_REVISION, alembic_config, create_hub_engine, current_revision, open_database
from hub.db.models import EventRecord, IncidentDelivery, IncidentRecord, JsonDocument, UtcDateTime, Venue
from hub.incidents.ledger import Ledger

pytest_plugins = ["tests.peers.postgres"]

AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _old_ledger_tables() -> MetaData:
    """The two tables exactly as hub/incidents/ledger.py created them before 0002 (no naming convention)."""
    metadata = MetaData()
    Table(
        "incident",
        metadata,
        Column("key", String(400), primary_key=True),
        Column("kind", String(32), nullable=False),
        Column("code", String(64), nullable=False),
        Column("severity", String(16), nullable=False),
        Column("venue", String(300), nullable=False, index=True),
        Column("conference_id", String(128), nullable=True, index=True),
        Column("at", UtcDateTime(), nullable=False, index=True),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("payload", JsonDocument, nullable=False),
    )
    Table(
        "incident_delivery",
        metadata,
        Column("incident_key", String(400), primary_key=True),
        Column("sink", String(64), primary_key=True),
        Column("state", String(16), nullable=False, index=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("next_attempt_at", UtcDateTime(), nullable=False),
        Column("lease_owner", String(64), nullable=True),
        Column("lease_until", UtcDateTime(), nullable=True),
        Column("last_error", String(300), nullable=True),
        Column("delivered_at", UtcDateTime(), nullable=True),
        Column("updated_at", UtcDateTime(), nullable=False),
    )
    return metadata


def _make_0001(url: str, *, with_old_ledger: bool):
    engine = create_hub_engine(url)
    with engine.connect() as connection:
        command.upgrade(alembic_config(connection), "0001")
        connection.commit()
    venue = Venue.__table__
    with engine.begin() as connection:
        common = {"province": "jilin", "prefecture": "changchun", "county": "nongan", "in_inventory": True}
        connection.execute(
            venue.insert(),
            [
                {
                    **common,
                    "key": "jilin/changchun/nongan/main",
                    "venue_id": "main",
                    "state": "online",
                    "state_since": AT,
                },
                {**common, "key": "jilin/changchun/nongan/b", "venue_id": "b", "state": "never", "state_since": None},
            ],
        )
        connection.execute(
            EventRecord.__table__.insert(),
            {
                "id": "e1",
                "venue_key": "jilin/changchun/nongan/main",
                "seq": 1,
                "code": "agent.started",
                "severity": "info",
                "ts": AT,
                "payload": {"zh": "启动"},
                "received_at": AT,
            },
        )
    if with_old_ledger:
        old = _old_ledger_tables()
        old.create_all(engine)
        with engine.begin() as connection:
            connection.execute(
                old.tables["incident"].insert(),
                {
                    "key": "state:jilin/changchun/nongan/main:x",
                    "kind": "state",
                    "code": "venue.offline",
                    "severity": "warn",
                    "venue": "jilin/changchun/nongan/main",
                    "at": AT,
                    "created_at": AT,
                    "payload": {"k": 1},
                },
            )
            connection.execute(
                old.tables["incident_delivery"].insert(),
                {
                    "incident_key": "state:jilin/changchun/nongan/main:x",
                    "sink": "ops",
                    "state": "pending",
                    "attempts": 2,
                    "next_attempt_at": AT + timedelta(minutes=1),
                    "updated_at": AT,
                },
            )
    assert current_revision(engine) == "0001"
    engine.dispose()


def _check_upgraded(url: str) -> None:
    engine = open_database(url)
    assert current_revision(engine) == HEAD_REVISION
    columns = {c["name"] for c in inspect(engine).get_columns("venue")}
    assert "changed_at" in columns
    assert "ix_venue_changed_at" in {i["name"] for i in inspect(engine).get_indexes("venue")}
    with engine.connect() as connection:
        rows = dict(connection.execute(select(Venue.key, Venue.changed_at)).all())
        assert rows == {"jilin/changchun/nongan/main": AT, "jilin/changchun/nongan/b": None}
        assert connection.execute(select(func.count()).select_from(EventRecord)).scalar_one() == 1
    engine.dispose()


def test_0001_database_with_the_desks_own_tables_upgrades_and_keeps_them(database_url: str) -> None:
    _make_0001(database_url, with_old_ledger=True)
    _check_upgraded(database_url)
    engine = open_database(database_url)
    with engine.connect() as connection:
        assert connection.execute(select(IncidentRecord.key)).scalars().all() == ["state:jilin/changchun/nongan/main:x"]
        delivery = connection.execute(select(IncidentDelivery.sink, IncidentDelivery.attempts)).one()
        assert tuple(delivery) == ("ops", 2)
    # the ledger works on the adopted tables: the pending row is still counted for its sink
    [tally] = Ledger(engine).tallies()
    assert (tally.sink, tally.pending, tally.failed_attempts) == ("ops", 1, 2)
    engine.dispose()


def test_0001_database_without_ledger_tables_upgrades_and_gets_them(database_url: str) -> None:
    _make_0001(database_url, with_old_ledger=False)
    _check_upgraded(database_url)
    engine = open_database(database_url)
    names = set(inspect(engine).get_table_names())
    assert {"incident", "incident_delivery"} <= names
    assert {"ix_incident_venue", "ix_incident_at", "ix_incident_conference_id"} <= {
        i["name"] for i in inspect(engine).get_indexes("incident")
    }
    engine.dispose()


def test_downgrade_to_0001_and_up_again(database_url: str) -> None:
    engine = open_database(database_url)
    with engine.connect() as connection:
        command.downgrade(alembic_config(connection), "0001")
        connection.commit()
    assert current_revision(engine) == "0001"
    assert "changed_at" not in {c["name"] for c in inspect(engine).get_columns("venue")}
    engine.dispose()
    assert current_revision(open_database(database_url)) == HEAD_REVISION
