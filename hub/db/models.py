"""The hub's tables as SQLAlchemy 2 declarative models; `hub/db/migrations/` creates them (Alembic).

One database per office (SQLite for one machine, PostgreSQL when several hub processes share it).
Every table says in its docstring who writes it and who reads it, because the ingest, the commands
(`venues`, `schedule push`, `rollcall`), the incident desk, the review and the evaluation all meet
here and nowhere else: views read the database, never the broker.

A venue is keyed by its place in the tree, `province/prefecture/county/id` (county `_` for a
prefecture's own venue), the same four segments as its topics. Times are stored in UTC and always
come back timezone-aware (`UtcDateTime`), on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

VENUE_KEY_LENGTH = 300  # four segments of at most 64 characters and three slashes, with room
STATES = ("online", "offline", "silent", "never")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no offset: it is added back on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JsonDocument = JSON().with_variant(JSONB(), "postgresql")


class JsonText(str):
    """A JSON document already serialised (the ingest has pydantic write each validated payload once):
    bound to a JSON column as it is, where a dict would be serialised again (`hub.db.engine` installs
    the serialiser that tells the two apart). Reading the column gives the parsed document as always."""

    __slots__ = ()


def serialise_json(value: Any) -> str:
    """The engines' JSON serialiser: a `JsonText` as it is, anything else through `json.dumps`."""
    return value if isinstance(value, JsonText) else json.dumps(value)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with constraint names fixed, so migrations name them the same on every backend."""

    metadata = MetaData(naming_convention=NAMING)
    # SQLAlchemy reads this class attribute once, at mapping time.
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JsonDocument, list[Any]: JsonDocument}  # noqa: RUF012


def venue_fk() -> ForeignKey:
    return ForeignKey("venue.key", ondelete="CASCADE")


class Venue(Base):
    """Every venue the hub knows: from the inventory (`in_inventory`) or heard on the broker, or both.

    Written by the ingest (first/last seen, state, availability, status interval, reported contacts)
    and by loading the inventory at `venue-hub run` start. Read by `venues`, `rollcall`, `schedule push`,
    the incident desk (contacts), the review and the evaluation. `state` is one of `STATES`; a change is
    made by a conditional UPDATE (`WHERE state = <previous>`) so that of several hub processes only one
    records each transition.
    """

    __tablename__ = "venue"

    key: Mapped[str] = mapped_column(String(VENUE_KEY_LENGTH), primary_key=True)
    province: Mapped[str] = mapped_column(String(64))
    prefecture: Mapped[str] = mapped_column(String(64), index=True)
    county: Mapped[str] = mapped_column(String(64))
    venue_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(256))
    level: Mapped[str | None] = mapped_column(String(16), doc="`prefecture` (county `_`) or `county`.")
    in_inventory: Mapped[bool] = mapped_column(Boolean, default=False)
    inventory_contacts: Mapped[dict[str, Any] | None] = mapped_column(doc="Art. 7 contacts the office filed.")
    contacts: Mapped[dict[str, Any] | None] = mapped_column(
        doc="Effective Art. 7 contacts: the venue's own (from its status), each role overridden by the inventory."
    )
    first_seen: Mapped[datetime | None]
    last_seen: Mapped[datetime | None] = mapped_column(doc="Last message heard from the venue (any leaf).")
    state: Mapped[str] = mapped_column(String(16), default="never")
    state_since: Mapped[datetime | None]
    availability: Mapped[str | None] = mapped_column(String(16), doc="Last `availability` payload read.")
    availability_at: Mapped[datetime | None] = mapped_column(doc="When this hub received that availability.")
    availability_broker_at: Mapped[datetime | None] = mapped_column(
        doc=(
            "When the broker got that availability (whole seconds, from its MQTT 5 Message Expiry Interval: "
            "contract/availability.py); NULL when it carried none (MQTT 3.1.1, an older agent). A venue's "
            "availabilities are ordered by it (hub/ingest/availability_order.py)."
        )
    )
    status_interval_s: Mapped[float | None] = mapped_column(Float, doc="From its status; silence is judged by it.")
    changed_at: Mapped[datetime | None] = mapped_column(
        index=True,
        doc=(
            "When anything an overview tile shows last changed (state, availability, status overall or "
            "failing, a new self-test report), by the writer's clock; not moved by a mere last_seen bump. "
            "The web board polls `changed_at > <its last poll>`."
        ),
    )


class VenueStatus(Base):
    """The latest retained status of each venue (and its latest metrics), replaced, never appended.

    Written by the ingest (only by a status newer than the stored one). Read by `venues` (overall,
    failing checks), the review and the evaluation.
    """

    __tablename__ = "venue_status"

    venue_key: Mapped[str] = mapped_column(String(VENUE_KEY_LENGTH), venue_fk(), primary_key=True)
    ts: Mapped[datetime] = mapped_column(doc="The status's own time.")
    received_at: Mapped[datetime]
    overall: Mapped[str] = mapped_column(String(16))
    failing: Mapped[list[Any]] = mapped_column(doc="Graded check ids at warn or fail (not advisory ones).")
    payload: Mapped[dict[str, Any]]
    metrics: Mapped[dict[str, Any] | None] = mapped_column(doc="The latest metrics payload (history not kept).")
    metrics_at: Mapped[datetime | None]


class AvailabilityTransition(Base):
    """Each change of a venue's state (online/offline/silent/never), once, whichever process saw it.

    Written by the ingest and its silence watcher. Read by the incident desk (through `on_state`), the
    review (who dropped out during a conference) and the evaluation (availability during conferences).
    """

    __tablename__ = "availability_transition"
    __table_args__ = (Index("ix_availability_transition_venue_at", "venue_key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    venue_key: Mapped[str] = mapped_column(String(VENUE_KEY_LENGTH), venue_fk())
    previous: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(32), doc="`availability`, `silence`, `heard` or `inventory`.")
    broker_at: Mapped[datetime | None] = mapped_column(
        doc=(
            "For a change made by an availability: when the broker got it (the time it was ordered by; `at` "
            "is when this hub received it). NULL for other reasons, or an availability without the property."
        )
    )


class EventRecord(Base):
    """Every event a venue published, stored exactly once: the primary key is the event's own `id`.

    Written by the ingest (INSERT … ON CONFLICT DO NOTHING: a redelivery, or a second hub process
    holding the same message, stores nothing). Read by the incident desk (`on_event` after the insert),
    the gap sweeper (`seq`), the review (a conference's incidents) and the evaluation.
    """

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_venue_seq", "venue_key", "seq"),
        Index("ix_event_venue_ts", "venue_key", "ts"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    venue_key: Mapped[str] = mapped_column(String(VENUE_KEY_LENGTH), venue_fk())
    seq: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(128), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    ts: Mapped[datetime]
    conference_id: Mapped[str | None] = mapped_column(String(128), index=True)
    check_id: Mapped[str | None] = mapped_column(String(256), doc="The event's `check`, for check changes.")
    verdict: Mapped[str | None] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]


class SeqCursor(Base):
    """How far each venue's per-kind `seq` is accounted for: every seq up to `contiguous_through` is
    either stored or recorded in `seq_gap`. Written and read by the gap sweeper only."""

    __tablename__ = "seq_cursor"

    venue_key: Mapped[str] = mapped_column(String(VENUE_KEY_LENGTH), venue_fk(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True, doc="The leaf whose seq it is: `events`.")
    contiguous_through: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class SeqGap(Base):
    """A run of `seq` numbers that never arrived (from_seq..to_seq inclusive): recorded, not hidden.

    Written by the gap sweeper once the hole has outlived its grace period (so that a hub process
    sharing the subscription has had time to store its half); `recovered` counts events of the run that
    arrived later after all. Read by `venues`/review/evaluation as evidence of loss.
    """

    __tablename__ = "seq_gap"
    __table_args__ = (UniqueConstraint("venue_key", "kind", "from_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    venue_key: Mapped[str] = mapped_column(String(VENUE_KEY_LENGTH), venue_fk(), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    from_seq: Mapped[int] = mapped_column(BigInteger)
    to_seq: Mapped[int] = mapped_column(BigInteger)
    detected_at: Mapped[datetime]
    recovered: Mapped[int] = mapped_column(Integer, default=0)


class SelftestRecord(Base):
    """Every self-test report (Art. 14), once per report `id` (the retained copy is read again at each
    start and stored nothing). Written by the ingest. Read by `venues` (the latest), `rollcall` (the
    report behind a reply), the review and the evaluation (pass rate)."""

    __tablename__ = "selftest_report"
    __table_args__ = (Index("ix_selftest_report_venue_ts", "venue_key", "ts"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    venue_key: Mapped[str] = mapped_column(String(VENUE_KEY_LENGTH), venue_fk())
    trigger: Mapped[str] = mapped_column(String(64))
    verdict: Mapped[str] = mapped_column(String(16))
    conference_id: Mapped[str | None] = mapped_column(String(128), index=True)
    ts: Mapped[datetime]
    received_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]


class ConferenceSummary(Base):
    """A venue's Art. 20 summary of one conference (the `data` of its `conference.summary` event, or
    the `cmd/summary` reply when the event was not kept by the broker). One per venue and conference.
    Written by the ingest and the summary backfill. Read by the review and the evaluation."""

    __tablename__ = "conference_summary"

    venue_key: Mapped[str] = mapped_column(String(VENUE_KEY_LENGTH), venue_fk(), primary_key=True)
    conference_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    severity: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16), doc="`event` or `cmd/summary`.")
    event_id: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]


class Conference(Base):
    """A conference the office pushed (`venue-hub schedule push`), as sent on `cmd/schedule`.

    Written by `schedule push`. Read by `rollcall --conference`, the incident desk (venues scheduled
    within 2 h), the summary backfill, the review (who was scheduled) and the evaluation.
    """

    __tablename__ = "conference"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    title: Mapped[str] = mapped_column(String(512), default="")
    kind: Mapped[str] = mapped_column(String(32))
    start: Mapped[datetime] = mapped_column(index=True)
    duration_min: Mapped[int] = mapped_column(Integer)
    far_end: Mapped[str | None] = mapped_column(String(256))
    scope: Mapped[str] = mapped_column(String(300), doc="The hub scope it was pushed to.")
    pushed_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(doc="The conference object exactly as pushed.")


class ConferenceVenue(Base):
    """Which venues a conference was pushed to and whether each accepted the schedule.

    Written by `schedule push` (`accepted` None = no answer by the deadline). Read as for `conference`.
    """

    __tablename__ = "conference_venue"

    conference_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("conference.id", ondelete="CASCADE"), primary_key=True
    )
    venue_key: Mapped[str] = mapped_column(String(VENUE_KEY_LENGTH), venue_fk(), primary_key=True, index=True)
    pushed_at: Mapped[datetime]
    accepted: Mapped[bool | None] = mapped_column(Boolean)
    error_code: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None]


class RollCall(Base):
    """One roll call (点名, Art. 14): when, for which conference, and its summary and exit code.
    Written by `rollcall`. Read by the review and the evaluation."""

    __tablename__ = "rollcall"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    conference_id: Mapped[str | None] = mapped_column(String(128), index=True)
    scope: Mapped[str] = mapped_column(String(300))
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime | None]
    deadline_s: Mapped[float] = mapped_column(Float)
    total: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    passed: Mapped[int] = mapped_column(Integer, default=0)
    warned: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    silent: Mapped[int] = mapped_column(Integer, default=0)
    exit_code: Mapped[int | None] = mapped_column(Integer)


class RollCallRow(Base):
    """One venue's answer to a roll call: answered or not, its self-test verdict and failed items, how
    many seconds the reply took, and the liaison to phone. Written by `rollcall`; read as `rollcall`."""

    __tablename__ = "rollcall_row"

    rollcall_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("rollcall.id", ondelete="CASCADE"), primary_key=True
    )
    venue_key: Mapped[str] = mapped_column(String(VENUE_KEY_LENGTH), venue_fk(), primary_key=True, index=True)
    answered: Mapped[bool] = mapped_column(Boolean)
    verdict: Mapped[str | None] = mapped_column(String(16), doc="pass/warn/fail/unknown; None when silent.")
    failed_items: Mapped[list[Any]]
    seconds: Mapped[float | None] = mapped_column(Float)
    liaison: Mapped[dict[str, Any] | None]
    selftest_id: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(64), doc="The agent's error reply code, if any.")
    state: Mapped[str] = mapped_column(String(16), doc="The venue's state when it was called.")


class HubProcess(Base):
    """Each running `venue-hub run` process: a heartbeat and its counters (received, stored,
    duplicates, rejected by reason). Written by that process every few seconds; read by people
    and tests checking that ingest is alive and what it refused."""

    __tablename__ = "hub_process"

    client_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(256))
    pid: Mapped[int] = mapped_column(Integer)
    scope: Mapped[str] = mapped_column(String(300))
    started_at: Mapped[datetime]
    beat_at: Mapped[datetime]
    counters: Mapped[dict[str, Any]]


class IncidentRecord(Base):
    """One incident raised by the desk (Art. 8(5)), once per incident key.

    Written by the incident desk (`hub/incidents/ledger.py`: INSERT … ON CONFLICT DO NOTHING, so of two
    hub processes that both see one venue go silent only the one whose insert stored the row goes on).
    Read by the desk, the review, the evaluation and `venue-hub incidents`.
    """

    __tablename__ = "incident"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    venue: Mapped[str] = mapped_column(String(VENUE_KEY_LENGTH), index=True, doc="The venue key (no foreign key).")
    conference_id: Mapped[str | None] = mapped_column(String(128), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]


class IncidentDelivery(Base):
    """Each incident at each sink: `pending` → `delivered` or `given_up`, attempts, next attempt, lease.

    Written by the desk (a process claims a due row with a conditional UPDATE, a lease, before posting).
    Read by the desk (retries, restarts) and the sink tallies of `venue-hub incidents`.
    """

    __tablename__ = "incident_delivery"

    incident_key: Mapped[str] = mapped_column(String(400), primary_key=True)
    sink: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(300))
    delivered_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
