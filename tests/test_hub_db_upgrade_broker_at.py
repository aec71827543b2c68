"""A database at revision 0003 upgrades in place to 0004 (`venue.availability_broker_at`,
`availability_transition.broker_at`): every row kept, the new columns NULL — an availability recorded
before the revision has no broker time and is ordered by receipt (hub/ingest/availability_order.py) —
and the ingest then stores broker times in them; down to 0003 and up again. SQLite and a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, select

from hub.config.models import HubSection
from hub.db.engine import (
    HEAD_REVISION,
    alembic_config,
    create_hub_engine,
    current_revision,
    open_database,
    writer_engine,
)
from hub.db.models import AvailabilityTransition, Venue
from hub.ingest.decode import Accepted, Incoming, decode
from hub.ingest.store import Store

pytest_plugins = ["tests.peers.postgres"]

KEY = "jilin/changchun/nongan/main"
TOPIC = f"vc/{KEY}/availability"
AT = datetime(2026, 11, 30, 8, 0, 0, 400000, tzinfo=UTC)


def _make_0003(url: str) -> None:
    engine = create_hub_engine(url)
    with engine.connect() as connection:
        command.upgrade(alembic_config(connection), "0003_board")
        connection.commit()
    with engine.begin() as connection:
        connection.execute(
            Venue.__table__.insert(),
            {
                "key": KEY,
                "province": "jilin",
                "prefecture": "changchun",
                "county": "nongan",
                "venue_id": "main",
                "in_inventory": True,
                "state": "online",
                "state_since": AT,
                "availability": "online",
                "availability_at": AT,
            },
        )
        connection.execute(
            AvailabilityTransition.__table__.insert(),
            {"venue_key": KEY, "previous": "never", "state": "online", "at": AT, "reason": "availability"},
        )
    assert current_revision(engine) == "0003_board"
    engine.dispose()


def test_a_0003_database_upgrades_and_the_ingest_then_records_broker_times(database_url: str) -> None:
    _make_0003(database_url)
    engine = open_database(database_url)
    assert current_revision(engine) == HEAD_REVISION
    with engine.connect() as connection:
        kept = connection.execute(select(Venue.availability, Venue.availability_at, Venue.availability_broker_at)).one()
        assert tuple(kept) == ("online", AT, None)
        assert connection.execute(select(AvailabilityTransition.broker_at)).scalars().all() == [None]

    # the venue's Will, which reached the broker 60 s after the recorded online, waited 30 s more in a queue
    store = Store(writer_engine(engine), HubSection(scope="vc/jilin/#", database=database_url))
    received = datetime(2026, 11, 30, 8, 1, 30, 700000, tzinfo=UTC)
    decoded = decode(Incoming(TOPIC, b"offline", False, received, broker_age_s=30), "vc", "vc/jilin/#", 1 << 20)
    assert isinstance(decoded, Accepted)
    store.apply([decoded])
    broker_at = datetime(2026, 11, 30, 8, 1, 0, tzinfo=UTC)
    with engine.connect() as connection:
        row = connection.execute(select(Venue.state, Venue.availability_at, Venue.availability_broker_at)).one()
        assert tuple(row) == ("offline", received, broker_at)
        stored = connection.execute(
            select(AvailabilityTransition.state, AvailabilityTransition.at, AvailabilityTransition.broker_at).order_by(
                AvailabilityTransition.id
            )
        ).all()
        assert [tuple(t) for t in stored] == [("online", AT, None), ("offline", received, broker_at)]
    engine.dispose()


def test_downgrade_to_0003_and_up_again(database_url: str) -> None:
    engine = open_database(database_url)
    with engine.connect() as connection:
        command.downgrade(alembic_config(connection), "0003_board")
        connection.commit()
    assert current_revision(engine) == "0003_board"
    assert "availability_broker_at" not in {c["name"] for c in inspect(engine).get_columns("venue")}
    assert "broker_at" not in {c["name"] for c in inspect(engine).get_columns("availability_transition")}
    engine.dispose()
    engine = open_database(database_url)
    assert current_revision(engine) == HEAD_REVISION
    assert "broker_at" in {c["name"] for c in inspect(engine).get_columns("availability_transition")}
    engine.dispose()
