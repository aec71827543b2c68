"""What the store records of a venue's state, driven through `decode` and `Store.apply` on a real
database (SQLite and a real PostgreSQL), with contract-valid payloads:

- `venue.changed_at` (what the web board polls) moves when an overview tile would change — state,
  availability, the status's `overall` or `failing`, a new self-test report — and not on a status that
  changes nothing of that, on metrics, events or a repeated self-test;
- two hub processes on one shared subscription (two `Store`s on one database, as two `venue-hub run`
  would have) that commit a venue's `offline` and its later `online` in the wrong order: the stale one
  never overwrites the newer state.

The commit order of two processes is what decides the race, so it is forced here by calling the two
stores in that order (a real two-process race would leave the order to chance and test nothing).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from bench.hub_fleet import fleet_refs, templates_for
from contract.payloads import SelftestReport, to_json
from hub.config.models import HubSection
from hub.db.engine import open_database, writer_engine
from hub.db.models import AvailabilityTransition, Venue
from hub.ingest.decode import Accepted, Incoming, decode
from hub.ingest.store import Outcome, Store

pytest_plugins = ["tests.peers.postgres"]

SCOPE = "vc/jilin/#"
T0 = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
VENUE = templates_for(fleet_refs(10)[9])  # a county venue of changchun
KEY = f"{VENUE.ref.province}/{VENUE.ref.prefecture}/{VENUE.ref.county}/{VENUE.ref.id}"


class Ticking:
    """A store clock that moves one second per reading, so every write it stamps is distinguishable."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = open_database(database_url)
    yield engine
    engine.dispose()


def make_store(engine: Engine, url: str) -> Store:
    return Store(writer_engine(engine), HubSection(scope=SCOPE, database=url), Ticking(T0))


def apply(store: Store, topic: str, payload: bytes, at: datetime, *, retain: bool = False) -> Outcome:
    decoded = decode(Incoming(topic, payload, retain, at), "vc", SCOPE, 1 << 20)
    assert isinstance(decoded, Accepted), decoded
    return store.apply([decoded])


def status(ts: datetime, overall: str = "ok", failing: tuple[str, ...] = ()) -> bytes:
    document = json.loads(VENUE.status_bytes(ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")))
    document["overall"] = overall
    for check in failing:
        document["checks"][check]["verdict"] = "warn"
    return json.dumps(document).encode()


def selftest(ts: datetime, report_id: str) -> bytes:
    report = SelftestReport(
        id=report_id, ts=ts, venue=VENUE.ref, trigger="command", verdict="pass", items=[], duration_s=1.0
    )
    return to_json(report)


def venue_row(engine: Engine) -> Venue:
    with engine.connect() as connection:
        return connection.execute(select(Venue.__table__).where(Venue.key == KEY)).one()  # type: ignore[return-value]


def test_changed_at_moves_only_with_what_a_tile_shows(engine: Engine, database_url: str) -> None:
    store = make_store(engine, database_url)
    topics = VENUE.topics
    marks: list[datetime | None] = []

    def step(action: Callable[[], object]) -> bool:
        """Run `action`; True if it moved changed_at."""
        before = venue_row(engine).changed_at if marks else None
        action()
        after = venue_row(engine).changed_at
        marks.append(after)
        assert after is not None
        return before != after

    at = T0
    assert step(lambda: apply(store, topics.availability, b"online", at))  # a new venue, online
    assert step(lambda: apply(store, topics.status, status(at), at + timedelta(seconds=1)))  # its first status
    # a newer status that changes neither overall nor failing; metrics; an event: last_seen only
    assert not step(lambda: apply(store, topics.status, status(at + timedelta(seconds=30)), at + timedelta(seconds=31)))
    metrics = VENUE.metrics_bytes((at + timedelta(seconds=32)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert not step(lambda: apply(store, topics.metrics, metrics, at + timedelta(seconds=33)))
    event = VENUE.event_bytes((at + timedelta(seconds=34)).strftime("%Y-%m-%dT%H:%M:%SZ"), 0.0)[1]
    assert not step(lambda: apply(store, topics.events, event, at + timedelta(seconds=35)))
    assert venue_row(engine).last_seen == at + timedelta(seconds=35)
    # a check starts failing (overall warn): moved; the same failing set again: not moved
    warn = status(at + timedelta(seconds=60), "warn", ("video.brightness",))
    assert step(lambda: apply(store, topics.status, warn, at + timedelta(seconds=61)))
    warn_again = status(at + timedelta(seconds=90), "warn", ("video.brightness",))
    assert not step(lambda: apply(store, topics.status, warn_again, at + timedelta(seconds=91)))
    # a different failing set, same overall: moved
    other = status(at + timedelta(seconds=120), "warn", ("audio.noise",))
    assert step(lambda: apply(store, topics.status, other, at + timedelta(seconds=121)))
    # an older status (out of order) with another verdict replaces nothing, moves nothing
    stale = status(at + timedelta(seconds=100), "fail", ("host.disk",))
    assert not step(lambda: apply(store, topics.status, stale, at + timedelta(seconds=122)))
    # a new self-test report moves it; the same report again (its retained copy) does not
    report = selftest(at + timedelta(seconds=130), str(uuid.uuid4()))
    assert step(lambda: apply(store, topics.selftest, report, at + timedelta(seconds=131)))
    assert not step(lambda: apply(store, topics.selftest, report, at + timedelta(seconds=132), retain=True))
    # offline (state and availability), then the silence rule on a venue that came back and went quiet
    assert step(lambda: apply(store, topics.availability, b"offline", at + timedelta(seconds=140)))
    assert step(lambda: apply(store, topics.availability, b"online", at + timedelta(seconds=150)))
    store.clock = Ticking(at + timedelta(hours=1))  # type: ignore[method-assign]
    assert step(lambda: store.sweep_silence())
    assert venue_row(engine).state == "silent"
    assert not step(lambda: store.sweep_silence())


def test_a_stale_availability_never_overwrites_a_newer_one(engine: Engine, database_url: str) -> None:
    """Process A is handed the venue's offline (received t+1 s), process B its next online (t+3 s); B
    commits first. A's late commit must leave the venue online; then the mirror case."""
    a, b = make_store(engine, database_url), make_store(engine, database_url)
    topic = VENUE.topics.availability
    apply(b, topic, b"online", T0)
    apply(b, VENUE.topics.status, status(T0), T0)

    apply(b, topic, b"online", T0 + timedelta(seconds=3))
    late = apply(a, topic, b"offline", T0 + timedelta(seconds=1))
    row = venue_row(engine)
    assert (row.state, row.availability, row.availability_at) == ("online", "online", T0 + timedelta(seconds=3))
    assert late.counts.get("availability_stale") == 1 and not late.transitions

    # the mirror: the venue went offline at t+10 s (B), A commits its older online (t+5 s) afterwards
    went = apply(b, topic, b"offline", T0 + timedelta(seconds=10))
    assert [(t.previous, t.state) for t in went.transitions] == [("online", "offline")]
    late = apply(a, topic, b"online", T0 + timedelta(seconds=5))
    row = venue_row(engine)
    assert (row.state, row.availability) == ("offline", "offline")
    assert late.counts.get("availability_stale") == 1 and not late.transitions
    # and the venue's later live traffic does not revive it either: only an `online` does
    apply(a, VENUE.topics.status, status(T0 + timedelta(seconds=20)), T0 + timedelta(seconds=20))
    assert venue_row(engine).state == "offline"
    apply(a, topic, b"online", T0 + timedelta(seconds=30))
    assert venue_row(engine).state == "online"
    with engine.connect() as connection:
        states = connection.execute(
            select(AvailabilityTransition.previous, AvailabilityTransition.state)
            .where(AvailabilityTransition.venue_key == KEY)
            .order_by(AvailabilityTransition.id)
        ).all()
    assert [tuple(s) for s in states] == [("never", "online"), ("online", "offline"), ("offline", "online")]


def test_in_order_availabilities_from_two_processes_all_apply(engine: Engine, database_url: str) -> None:
    a, b = make_store(engine, database_url), make_store(engine, database_url)
    topic = VENUE.topics.availability
    sequence = [(a, b"online"), (b, b"offline"), (a, b"online"), (b, b"offline")]
    for n, (store, word) in enumerate(sequence):
        outcome = apply(store, topic, word, T0 + timedelta(seconds=n))
        assert "availability_stale" not in outcome.counts
        assert venue_row(engine).state == word.decode()


def test_advisory_checks_are_shown_but_never_failing(engine: Engine, database_url: str) -> None:
    """Art. 15/16 framing and background are advice (not graded, contract.findings.ADVISORY_CHECKS):
    a venue warned about its background is not listed as failing it, nor does the advice hide a fault."""
    from hub.db.models import VenueStatus

    store = make_store(engine, database_url)
    document = json.loads(status(T0, "warn", ("audio.noise",)))
    advice = dict(document["checks"]["video.brightness"], check="video.background", verdict="warn")
    document["checks"]["video.background"] = advice
    apply(store, VENUE.topics.status, json.dumps(document).encode(), T0 + timedelta(seconds=1))
    with engine.connect() as connection:
        row = connection.execute(select(VenueStatus.failing, VenueStatus.payload)).one()
    assert row.failing == ["audio.noise"]
    assert row.payload["checks"]["video.background"]["verdict"] == "warn"  # kept for the venue page and the wall
