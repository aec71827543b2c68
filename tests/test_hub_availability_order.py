"""A venue's availabilities ordered by when the broker got them (hub/ingest/availability_order.py), driven
through `decode` and `Store.apply` on a real database (SQLite and a real PostgreSQL), as two hub
processes would commit them (two `Store`s on one database).

Each message carries what the subscriber reads off a real delivery: its receipt time and the broker's
age of it (`broker_age_s`, from the MQTT 5 Message Expiry Interval; what mosquitto hands over is pinned
in tests/test_hub_broker.py, the whole path with real processes in tests/test_availability_expiry.py).
The commit order is what decides, so it is forced here by calling the stores in that order.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from bench.hub_fleet import fleet_refs, templates_for
from hub.config.models import HubSection
from hub.db.engine import open_database, writer_engine
from hub.db.models import AvailabilityTransition, Venue
from hub.ingest.decode import Accepted, Incoming, decode
from hub.ingest.store import Outcome, Store

pytest_plugins = ["tests.peers.postgres"]

SCOPE = "vc/jilin/#"
T0 = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
VENUE = templates_for(fleet_refs(10)[9])
KEY = f"{VENUE.ref.province}/{VENUE.ref.prefecture}/{VENUE.ref.county}/{VENUE.ref.id}"
TOPIC = VENUE.topics.availability


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = open_database(database_url)
    yield engine
    engine.dispose()


def make_store(engine: Engine, url: str) -> Store:
    return Store(writer_engine(engine), HubSection(scope=SCOPE, database=url))


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def apply(
    store: Store, word: bytes, received: float, age: int | None, *, snapshot_started: float | None = None
) -> Outcome:
    """One availability received at `T0 + received` s, that waited `age` s at the broker (None: no property)."""
    incoming = Incoming(
        TOPIC,
        word,
        snapshot_started is not None,
        s(received),
        snapshot_started=None if snapshot_started is None else s(snapshot_started),
        broker_age_s=age,
    )
    decoded = decode(incoming, "vc", SCOPE, 1 << 20)
    assert isinstance(decoded, Accepted), decoded
    return store.apply([decoded])


def venue(engine: Engine) -> tuple[str, str | None, datetime | None]:
    with engine.connect() as connection:
        row = connection.execute(
            select(Venue.state, Venue.availability, Venue.availability_broker_at).where(Venue.key == KEY)
        ).one()
    return tuple(row)  # type: ignore[return-value]


def transitions(engine: Engine) -> list[tuple[str, str, datetime | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(AvailabilityTransition.previous, AvailabilityTransition.state, AvailabilityTransition.broker_at)
            .where(AvailabilityTransition.venue_key == KEY)
            .order_by(AvailabilityTransition.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_an_offline_that_waited_in_a_queue_loses_to_the_online_recorded_meanwhile(
    engine: Engine, database_url: str
) -> None:
    """What receipt order got wrong: the venue's Will reached the broker at t+5 s and waited in process A's
    session queue while A was down; the venue came back at t+10 s and B recorded it. A drains its copy
    an hour later: it is an hour old, so the venue stays online — and the mirror case."""
    a, b = make_store(engine, database_url), make_store(engine, database_url)
    apply(b, b"online", 0.2, 0)
    apply(b, b"online", 10.3, 0)
    late = apply(a, b"offline", 3600.6, 3595)
    assert venue(engine) == ("online", "online", s(10))
    assert late.counts.get("availability_stale") == 1 and not late.transitions
    assert transitions(engine) == [("never", "online", s(0))]

    # the mirror: B records the venue's offline at t+4000 s; A's queued online (t+3990 s) arrives later
    apply(b, b"offline", 4000.1, 0)
    late = apply(a, b"online", 4100.5, 110)
    assert venue(engine) == ("offline", "offline", s(4000))
    assert late.counts.get("availability_stale") == 1
    # a copy that waited but is still the newest applies, and its transition carries the broker's time
    apply(a, b"online", 4200.9, 150)
    assert venue(engine) == ("online", "online", s(4050))
    assert transitions(engine)[-1] == ("offline", "online", s(4050))


def test_the_same_broker_second_is_broken_by_receipt(engine: Engine, database_url: str) -> None:
    """1 s resolution: two copies the broker got within one of its seconds are ordered by receipt, the
    later one received winning — whichever process committed first."""
    a, b = make_store(engine, database_url), make_store(engine, database_url)
    apply(b, b"online", 20.7, 0)  # broker second t+20, received t+20.7
    stale = apply(a, b"offline", 21.4, 1)  # also broker second t+20, but received later: newer
    assert venue(engine)[:2] == ("offline", "offline") and "availability_stale" not in stale.counts
    older = apply(b, b"online", 20.5, 0)  # broker second t+20, received before the recorded one: older
    assert venue(engine)[:2] == ("offline", "offline") and older.counts.get("availability_stale") == 1


def test_without_the_property_the_order_is_receipt_order_as_before(engine: Engine, database_url: str) -> None:
    """MQTT 3.1.1, a 3.1.1 bridge, an older agent: no age, so receipt order — including its known fault,
    a stale queued copy with a fresh receipt time overriding the newer state (docs/hub.md)."""
    a, b = make_store(engine, database_url), make_store(engine, database_url)
    apply(b, b"online", 10.0, None)
    early = apply(a, b"offline", 5.0, None)  # received before the recorded one: dropped
    assert early.counts.get("availability_stale") == 1
    assert venue(engine) == ("online", "online", None)
    apply(a, b"offline", 3600.0, None)  # the copy that waited an hour, with nothing to say so: it wins
    assert venue(engine) == ("offline", "offline", None)
    assert transitions(engine) == [("never", "online", None), ("online", "offline", None)]


def test_a_retained_copy_is_ordered_by_its_broker_time_too(engine: Engine, database_url: str) -> None:
    """Process A starts on a new session and reads the retained state (its snapshot begins at t+50 s)
    while process B drains an `offline` Will of t+5 s from its queue. The retained `online` A reads is
    the venue's newest (t+10 s): with the property it wins over B's older copy although B received that
    after the snapshot began; a live `offline` newer than it still supersedes it. Without the property,
    anything received since the snapshot began wins over it, as before."""
    a, b = make_store(engine, database_url), make_store(engine, database_url)
    apply(b, b"online", 1.0, 0)
    apply(b, b"offline", 52.0, 47)  # the Will of t+5 s, drained by B after A's snapshot began
    assert venue(engine)[:2] == ("offline", "offline")
    retained = apply(a, b"online", 53.0, 43, snapshot_started=50.0)  # the retained online of t+10 s
    assert venue(engine) == ("online", "online", s(10)) and "snapshot_superseded" not in retained.counts
    apply(b, b"offline", 120.0, 0)  # the venue's next Will, live; then a snapshot copy older than it
    superseded = apply(a, b"online", 121.0, 111, snapshot_started=50.0)
    assert venue(engine)[:2] == ("offline", "offline") and superseded.counts.get("snapshot_superseded") == 1

    apply(b, b"online", 200.0, None)
    apply(b, b"offline", 252.0, None)  # received after the snapshot began at t+250 s: it wins, property or not
    superseded = apply(a, b"online", 253.0, None, snapshot_started=250.0)
    assert venue(engine)[:2] == ("offline", "offline") and superseded.counts.get("snapshot_superseded") == 1
