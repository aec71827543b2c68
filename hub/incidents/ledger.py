"""The delivery ledger: which incidents exist and what became of each one at each sink.

Kept in the hub's own database (SQLite or PostgreSQL, the engine `hub.db.engine.open_database` gives),
in two tables declared in `hub/db/models.py` (`IncidentRecord`, `IncidentDelivery`) and created by the
migrations (0002) like every other table:

- `incident`: one row per incident key. Its primary key is what makes "never sent twice" hold even
  when two hub processes share one subscription and both see a venue go silent: only the process whose
  INSERT succeeds goes on, the other finds the row and stops.
- `incident_delivery`: one row per (incident, sink) with its state (`pending` → `delivered` or
  `given_up`), attempts, the next attempt's time and the last error. A process *claims* a due row with
  a conditional UPDATE (a lease) before posting, so two processes never post the same row at once, and
  a restart resumes every pending row where it stopped.

The gap that remains is the network's: a sink that took the message but whose answer was lost is
tried again (at-least-once on the wire). The generic webhook sends the incident key as
`Idempotency-Key` so a receiver can drop such a repeat; the robots have no such header.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    and_,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from hub.db.models import Base, IncidentDelivery, IncidentRecord
from hub.incidents.incident import Incident

PENDING = "pending"
DELIVERED = "delivered"
GIVEN_UP = "given_up"
LEASE = timedelta(minutes=2)  # longer than any attempt (timeout_s ≤ 120 s)

# The tables are declared with the others in hub/db/models.py and created by migration 0002.
incident_table: Table = IncidentRecord.__table__  # type: ignore[assignment]
delivery_table: Table = IncidentDelivery.__table__  # type: ignore[assignment]


def ensure_tables(engine: Engine) -> None:
    """Kept for callers of the time when the desk created its own tables: the migrations now do.

    An engine from `open_database` already has both tables, so this creates nothing; on a bare engine it
    creates what is missing (a concurrent creator, another hub process, is fine), and migration 0002
    later adopts the tables it finds."""
    try:
        Base.metadata.create_all(engine, tables=[incident_table, delivery_table], checkfirst=True)
    except (OperationalError, ProgrammingError, IntegrityError):
        Base.metadata.create_all(engine, tables=[incident_table, delivery_table], checkfirst=True)


def _insert_new(conn: Connection, table: Table) -> Any:
    """INSERT that skips a row whose primary key exists, in the connection's own dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"the incident ledger supports SQLite and PostgreSQL, not {conn.dialect.name}")


def _aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything here is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Due:
    """A claimed delivery: post `incident` to `sink`; this is attempt number `attempt`."""

    incident: Incident
    sink: str
    attempt: int


@dataclass(frozen=True)
class SinkTally:
    sink: str
    delivered: int
    pending: int
    given_up: int
    failed_attempts: int
    last_error: str | None
    last_error_at: datetime | None
    last_delivered_at: datetime | None


class Ledger:
    """The two tables, as the desk uses them. Every method is one short transaction (safe from any thread)."""

    def __init__(self, engine: Engine, owner: str | None = None):
        self.engine = engine
        self.owner = owner or uuid.uuid4().hex

    def record(self, incident: Incident, sinks: list[str], now: datetime) -> bool:
        """Keep `incident` and a pending delivery for each sink it should reach; True if the incident is new.

        One transaction of INSERT … ON CONFLICT DO NOTHING (SQLite and PostgreSQL both have it): a row
        already there (another process, an earlier run) is left alone, so a sink never gets one twice."""
        with self.engine.begin() as conn:
            # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT through SQLAlchemy
            inserted = conn.execute(
                _insert_new(conn, incident_table)
                .values(
                    key=incident.key,
                    kind=incident.kind,
                    code=incident.code,
                    severity=incident.severity,
                    venue=incident.venue,
                    conference_id=incident.conference.id if incident.conference else None,
                    at=incident.at,
                    created_at=now,
                    payload=incident.to_json(),
                )
                .returning(incident_table.c.key)
            ).first()
            new = inserted is not None
            for sink in sinks:
                conn.execute(
                    _insert_new(conn, delivery_table).values(
                        incident_key=incident.key,
                        sink=sink,
                        state=PENDING,
                        attempts=0,
                        next_attempt_at=now,
                        updated_at=now,
                    )
                )
        return new

    def check(self) -> None:
        """Raise if the ledger's tables cannot be read (the database is down, or was never migrated)."""
        with self.engine.connect() as conn:
            conn.execute(select(incident_table.c.key).limit(1)).first()

    def exists(self, key: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(incident_table.c.key).where(incident_table.c.key == key)).first() is not None

    def claim_due(self, now: datetime, sinks: list[str], limit: int = 50) -> list[Due]:
        """Pending deliveries whose time has come, leased to this process (none leased by another)."""
        free = or_(delivery_table.c.lease_until.is_(None), delivery_table.c.lease_until < now)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(delivery_table.c.incident_key, delivery_table.c.sink, delivery_table.c.attempts)
                .where(
                    delivery_table.c.state == PENDING,
                    delivery_table.c.sink.in_(sinks),
                    delivery_table.c.next_attempt_at <= now,
                    free,
                )
                .order_by(delivery_table.c.next_attempt_at)
                .limit(limit)
            ).all()
        claimed: list[Due] = []
        for key, sink, attempts in rows:
            with self.engine.begin() as conn:
                taken = conn.execute(
                    update(delivery_table)
                    .where(
                        delivery_table.c.incident_key == key,
                        delivery_table.c.sink == sink,
                        delivery_table.c.state == PENDING,
                        free,
                    )
                    .values(lease_owner=self.owner, lease_until=now + LEASE)
                    .returning(delivery_table.c.incident_key)
                ).first()
                if taken is None:
                    continue
                payload = conn.execute(select(incident_table.c.payload).where(incident_table.c.key == key)).scalar_one()
            claimed.append(Due(Incident.from_json(payload), sink, attempts + 1))
        return claimed

    def next_due(self, sinks: list[str]) -> datetime | None:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(func.min(delivery_table.c.next_attempt_at)).where(
                    delivery_table.c.state == PENDING, delivery_table.c.sink.in_(sinks)
                )
            ).scalar()
        return _aware(value)

    def _finish(self, due: Due, now: datetime, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(delivery_table)
                .where(
                    delivery_table.c.incident_key == due.incident.key,
                    delivery_table.c.sink == due.sink,
                    delivery_table.c.lease_owner == self.owner,
                )
                .values(attempts=due.attempt, lease_owner=None, lease_until=None, updated_at=now, **values)
            )

    def delivered(self, due: Due, now: datetime) -> None:
        self._finish(due, now, state=DELIVERED, delivered_at=now)

    def retry_at(self, due: Due, now: datetime, when: datetime, error: str) -> None:
        self._finish(due, now, next_attempt_at=when, last_error=error[:300])

    def given_up(self, due: Due, now: datetime, error: str) -> None:
        self._finish(due, now, state=GIVEN_UP, last_error=error[:300])

    def release(self, due: Due, now: datetime) -> None:
        """Hand a claimed row back untried (e.g. the desk is stopping, or the sink is paced)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(delivery_table)
                .where(
                    delivery_table.c.incident_key == due.incident.key,
                    delivery_table.c.sink == due.sink,
                    delivery_table.c.lease_owner == self.owner,
                )
                .values(lease_owner=None, lease_until=None, updated_at=now)
            )

    # -- what the status and the reports read ------------------------------------------------------
    def tallies(self) -> list[SinkTally]:
        """Per sink: delivered, pending, given up, failed attempts and the last error (for status output)."""
        d = delivery_table.c
        with self.engine.connect() as conn:
            counts = conn.execute(
                select(d.sink, d.state, func.count(), func.sum(d.attempts)).group_by(d.sink, d.state)
            ).all()
            errors = conn.execute(
                select(d.sink, d.last_error, d.updated_at)
                .where(d.last_error.is_not(None))
                .order_by(d.updated_at.desc())
            ).all()
            last_ok = conn.execute(
                select(d.sink, func.max(d.delivered_at)).where(d.state == DELIVERED).group_by(d.sink)
            ).all()
        by_sink: dict[str, dict[str, Any]] = {}
        for sink, state, count, attempts in counts:
            entry = by_sink.setdefault(sink, {DELIVERED: 0, PENDING: 0, GIVEN_UP: 0, "failed": 0})
            entry[state] = count
            attempts = int(attempts or 0)
            # a delivered row's last attempt succeeded; every other attempt it made failed
            entry["failed"] += attempts - count if state == DELIVERED else attempts
        last_errors: dict[str, tuple[str, datetime]] = {}
        for sink, error, at in errors:
            last_errors.setdefault(sink, (error, at))
        oks = {sink: _aware(at) for sink, at in last_ok}
        return [
            SinkTally(
                sink,
                entry[DELIVERED],
                entry[PENDING],
                entry[GIVEN_UP],
                entry["failed"],
                last_errors.get(sink, (None, None))[0],
                _aware(last_errors.get(sink, (None, None))[1]),
                oks.get(sink),
            )
            for sink, entry in sorted(by_sink.items())
        ]

    def incidents(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        conference_id: str | None = None,
        venue_prefix: str | None = None,
    ) -> list[Incident]:
        """Kept incidents, oldest first, filtered by time, conference and subtree."""
        c = incident_table.c
        conditions = []
        if since is not None:
            conditions.append(c.at >= since)
        if until is not None:
            conditions.append(c.at < until)
        if conference_id is not None:
            conditions.append(c.conference_id == conference_id)
        if venue_prefix:
            conditions.append(or_(c.venue == venue_prefix, c.venue.startswith(venue_prefix.rstrip("/") + "/")))
        with self.engine.connect() as conn:
            rows = conn.execute(select(c.payload).where(and_(*conditions)).order_by(c.at, c.key)).scalars().all()
        return [Incident.from_json(row) for row in rows]

    def deliveries(self, key: str) -> dict[str, dict[str, Any]]:
        d = delivery_table.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(d.sink, d.state, d.attempts, d.last_error, d.delivered_at).where(d.incident_key == key)
            ).all()
        return {
            sink: {"state": state, "attempts": attempts, "last_error": error, "delivered_at": _aware(at)}
            for sink, state, attempts, error, at in rows
        }
