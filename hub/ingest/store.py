"""Apply accepted messages to the database: exactly once per event id, each venue's state kept.

The store is where "at-least-once in, exactly-once stored" is made true. It relies on the database,
not on memory, for everything another hub process could also be doing at the same moment:

- an event or self-test report is stored by `INSERT … ON CONFLICT DO NOTHING … RETURNING`: only the
  process (or the delivery) whose insert returns the row treats it as new and tells the desk;
- a state change is a conditional `UPDATE venue SET state = :new WHERE key = :k AND state = :old`:
  of two processes that both see a venue go silent, one records the transition;
- the current status is replaced only by a newer one (`ON CONFLICT DO UPDATE … WHERE ts < new ts`),
  so messages processed out of order by two processes never move it backwards.

What is kept in memory (the last state seen per venue, what was last written) only saves writes and
reads; it is refreshed from the database every sweep and is never the authority.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from contract import topics
from contract.payloads import Event, Metrics, SelftestReport, Status
from hub.config.inventory import Inventory
from hub.config.models import HubSection
from hub.db.models import (
    AvailabilityTransition,
    ConferenceSummary,
    EventRecord,
    SelftestRecord,
    SeqGap,
    Venue,
    VenueStatus,
)
from hub.ingest.decode import Accepted
from hub.messages import log_text

log = logging.getLogger("hub.ingest")

venue_t = Venue.__table__
status_t = VenueStatus.__table__
event_t = EventRecord.__table__
selftest_t = SelftestRecord.__table__
summary_t = ConferenceSummary.__table__
transition_t = AvailabilityTransition.__table__
gap_t = SeqGap.__table__

FAILING_VERDICTS = ("warn", "fail")
LAST_SEEN_RESOLUTION = timedelta(seconds=1)  # last_seen is rewritten at most this often per venue


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Transition:
    venue_key: str
    previous: str
    state: str
    at: datetime
    reason: str


@dataclass
class Outcome:
    """What one batch changed: the desk is told about `new_events` and `transitions` after the commit."""

    new_events: list[tuple[str, Event, datetime]] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n


def merged_contacts(reported: dict[str, Any] | None, inventory: dict[str, Any] | None) -> dict[str, Any]:
    """The venue's own contacts with each role the office filed replacing the venue's."""
    return {**(reported or {}), **(inventory or {})}


class Store:
    """Writes the ingest's batches; one instance per hub process, used from one thread."""

    def __init__(self, engine: Engine, hub: HubSection, clock: Callable[[], datetime] = utc_now):
        self.engine = engine
        self.hub = hub
        self.clock = clock
        self._dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        self._known: set[str] = set()
        self._state: dict[str, str] = {}
        self._last_seen_written: dict[str, datetime] = {}
        self._venue_fields: dict[str, tuple[Any, ...]] = {}
        self._inventory_contacts: dict[str, dict[str, Any] | None] = {}
        self.events_touched: set[str] = set()

    # -- the inventory ---------------------------------------------------------------------------------
    def load_inventory(self, inventory: Inventory) -> int:
        """Upsert the inventory's venues in scope (new ones start as `never`); others lose the flag."""
        venues = inventory.in_scope(self.hub.scope)
        now = self.clock()
        with self.engine.begin() as connection:
            rows = {
                row.key: row
                for row in connection.execute(select(venue_t.c.key, venue_t.c.contacts, venue_t.c.inventory_contacts))
            }
            listed = set()
            for venue in venues:
                listed.add(venue.key)
                contacts = venue.contacts() or None
                existing = rows.get(venue.key)
                if existing is None:
                    insert = self._dialect.insert(venue_t).values(
                        key=venue.key,
                        province=venue.province,
                        prefecture=venue.prefecture,
                        county=venue.county,
                        venue_id=venue.id,
                        name=venue.name,
                        level=venue.level,
                        in_inventory=True,
                        inventory_contacts=contacts,
                        contacts=contacts,
                        state="never",
                        state_since=now,
                    )
                    connection.execute(insert.on_conflict_do_nothing())
                else:
                    reported = _reported_part(existing.contacts, existing.inventory_contacts)
                    connection.execute(
                        update(venue_t)
                        .where(venue_t.c.key == venue.key)
                        .values(
                            in_inventory=True,
                            name=venue.name,
                            inventory_contacts=contacts,
                            contacts=merged_contacts(reported, contacts) or None,
                        )
                    )
                self._inventory_contacts[venue.key] = contacts
            stale = [key for key in rows if key not in listed]
            if stale:
                connection.execute(update(venue_t).where(venue_t.c.key.in_(stale)).values(in_inventory=False))
        return len(venues)

    # -- batches -----------------------------------------------------------------------------------------
    def apply(self, items: list[Accepted]) -> Outcome:
        """Apply `items` in one transaction (all or nothing: on error nothing is acknowledged)."""
        outcome = Outcome()
        with self.engine.begin() as connection:
            for item in items:
                self._apply_one(connection, item, outcome)
        return outcome

    def _apply_one(self, connection: Connection, item: Accepted, outcome: Outcome) -> None:
        key = item.place.key
        self._ensure_venue(connection, item)
        live = not item.incoming.retain
        if item.leaf == topics.AVAILABILITY:
            self._availability(connection, item, outcome)
            heard = item.incoming.received_at if live else None
        elif item.leaf == topics.STATUS:
            heard = self._status(connection, item)
        elif item.leaf == topics.EVENTS:
            self._event(connection, item, outcome)
            heard = item.incoming.received_at
        elif item.leaf == topics.SELFTEST:
            self._selftest(connection, item, outcome)
            heard = item.incoming.received_at if live else min(item.model.ts, item.incoming.received_at)  # type: ignore[union-attr]
        else:
            self._metrics(connection, item)
            heard = item.incoming.received_at
        outcome.count(f"accepted.{item.leaf}")
        if heard is not None:
            self._touch(connection, key, heard)
            if live:
                self._revive(connection, key, heard, outcome)

    def _ensure_venue(self, connection: Connection, item: Accepted) -> None:
        key = item.place.key
        ref = getattr(item.model, "venue", None)
        if key not in self._known:
            place = item.place
            insert = self._dialect.insert(venue_t).values(
                key=key,
                province=place.province,
                prefecture=place.prefecture,
                county=place.county,
                venue_id=place.venue,
                name=ref.name if ref else None,
                level=ref.level if ref else ("prefecture" if place.county == "_" else "county"),
                in_inventory=False,
                state="never",
                state_since=item.incoming.received_at,
            )
            connection.execute(insert.on_conflict_do_nothing())
            self._known.add(key)

    def _touch(self, connection: Connection, key: str, heard: datetime) -> None:
        written = self._last_seen_written.get(key)
        if written is not None and heard - written < LAST_SEEN_RESOLUTION:
            return
        connection.execute(
            update(venue_t)
            .where(venue_t.c.key == key, or_(venue_t.c.last_seen.is_(None), venue_t.c.last_seen < heard))
            .values(last_seen=heard)
        )
        connection.execute(
            update(venue_t).where(venue_t.c.key == key, venue_t.c.first_seen.is_(None)).values(first_seen=heard)
        )
        self._last_seen_written[key] = heard

    # -- state -------------------------------------------------------------------------------------------
    def transition(
        self,
        connection: Connection,
        key: str,
        new: str,
        at: datetime,
        reason: str,
        outcome: Outcome,
        only_from: tuple[str, ...] | None = None,
        extra_guard: Any = None,
    ) -> bool:
        """Move `key` to `new` if its state is still what was read; record it once across processes."""
        current = connection.execute(select(venue_t.c.state).where(venue_t.c.key == key)).scalar_one_or_none()
        if current is None or current == new or (only_from is not None and current not in only_from):
            if current is not None:
                self._state[key] = current
            return False
        condition = and_(venue_t.c.key == key, venue_t.c.state == current)
        if extra_guard is not None:
            condition = and_(condition, extra_guard)
        changed = connection.execute(
            update(venue_t).where(condition).values(state=new, state_since=at).returning(venue_t.c.key)
        ).first()
        if changed is None:
            return False
        connection.execute(
            self._dialect.insert(transition_t).values(venue_key=key, previous=current, state=new, at=at, reason=reason)
        )
        self._state[key] = new
        outcome.transitions.append(Transition(key, current, new, at, reason))
        outcome.count("transitions")
        log.info(log_text("venue.state_changed", venue=key, previous=current, state=new))
        return True

    def _revive(self, connection: Connection, key: str, heard: datetime, outcome: Outcome) -> None:
        """A venue heard from live is online again, unless it said it is offline."""
        if self._state.get(key, "unknown") not in ("silent", "never", "unknown"):
            return
        guard = or_(venue_t.c.availability.is_(None), venue_t.c.availability != "offline")
        if not self.transition(connection, key, "online", heard, "heard", outcome, ("silent", "never"), guard):
            self._state.setdefault(key, "online")

    def silence_limit(self, status_interval_s: float | None) -> timedelta:
        interval = status_interval_s or self.hub.default_status_interval_s
        return timedelta(seconds=self.hub.silent_after_intervals * interval)

    def _availability(self, connection: Connection, item: Accepted, outcome: Outcome) -> None:
        key, now = item.place.key, item.incoming.received_at
        row = connection.execute(
            select(venue_t.c.availability_at, venue_t.c.last_seen, venue_t.c.status_interval_s).where(
                venue_t.c.key == key
            )
        ).one()
        snapshot = item.incoming.snapshot_started
        if snapshot is not None and row.availability_at is not None and row.availability_at >= snapshot:
            outcome.count("snapshot_superseded")
            return  # a live availability arrived since the snapshot began: it is newer
        connection.execute(
            update(venue_t).where(venue_t.c.key == key).values(availability=item.availability, availability_at=now)
        )
        if item.availability == "offline":
            self.transition(connection, key, "offline", now, "availability", outcome)
            return
        # A retained `online` read at start is believed only as far as the venue's last message allows
        # (nothing heard yet: believed, and the silence watcher judges it once its status has been read).
        fresh = (
            not item.incoming.retain
            or row.last_seen is None
            or now - row.last_seen <= self.silence_limit(row.status_interval_s)
        )
        self.transition(connection, key, "online" if fresh else "silent", now, "availability", outcome)

    # -- payloads ----------------------------------------------------------------------------------------
    def _status(self, connection: Connection, item: Accepted) -> datetime:
        status: Status = item.model  # type: ignore[assignment]
        key, now = item.place.key, item.incoming.received_at
        failing = sorted(check for check, finding in status.checks.items() if finding.verdict in FAILING_VERDICTS)
        values = {
            "venue_key": key,
            "ts": status.ts,
            "received_at": now,
            "overall": str(status.overall),
            "failing": failing,
            "payload": item.document,
        }
        insert = self._dialect.insert(status_t).values(values)
        connection.execute(
            insert.on_conflict_do_update(
                index_elements=[status_t.c.venue_key],
                set_={name: insert.excluded[name] for name in values if name != "venue_key"},
                where=status_t.c.ts < insert.excluded.ts,
            )
        )
        interval = getattr(status, "status_interval_s", None)
        reported = status.contacts or None
        fields = (status.venue.name, status.venue.level, reported, interval)
        if self._venue_fields.get(key) != fields:
            inventory = self._inventory_contacts.get(key)
            values_venue: dict[str, Any] = {
                "contacts": merged_contacts(reported, inventory) or None,
                "level": status.venue.level,
            }
            if interval is not None:
                values_venue["status_interval_s"] = float(interval)
            connection.execute(update(venue_t).where(venue_t.c.key == key).values(values_venue))
            # The office's inventory names its venues; a venue it does not list is named by itself.
            connection.execute(
                update(venue_t)
                .where(venue_t.c.key == key, venue_t.c.in_inventory.is_(False))
                .values(name=status.venue.name)
            )
            self._venue_fields[key] = fields
        # A retained status read at start proves the venue was alive when it was written, not now.
        return now if not item.incoming.retain else min(status.ts, now)

    def _event(self, connection: Connection, item: Accepted, outcome: Outcome) -> None:
        event: Event = item.model  # type: ignore[assignment]
        key, now = item.place.key, item.incoming.received_at
        inserted = connection.execute(
            self._dialect.insert(event_t)
            .values(
                id=event.id,
                venue_key=key,
                seq=event.seq,
                code=event.code,
                severity=str(event.severity),
                ts=event.ts,
                conference_id=event.conference_id,
                check_id=event.check,
                verdict=str(event.verdict) if event.verdict is not None else None,
                payload=item.document,
                received_at=now,
            )
            .on_conflict_do_nothing()
            .returning(event_t.c.id)
        ).first()
        if inserted is None:
            outcome.count("duplicate_events")
            return
        outcome.count("stored_events")
        outcome.new_events.append((key, event, now))
        self.events_touched.add(key)
        connection.execute(
            update(gap_t)
            .where(
                gap_t.c.venue_key == key,
                gap_t.c.kind == topics.EVENTS,
                gap_t.c.from_seq <= event.seq,
                gap_t.c.to_seq >= event.seq,
            )
            .values(recovered=gap_t.c.recovered + 1)
        )
        if event.code == "conference.summary" and event.conference_id:
            data = (item.document or {}).get("data", {})
            self.store_summary(connection, key, event.conference_id, str(event.severity), data, "event", event.id)

    def store_summary(
        self,
        connection: Connection,
        key: str,
        conference_id: str,
        severity: str,
        payload: dict[str, Any],
        source: str,
        event_id: str | None = None,
    ) -> bool:
        """Keep a venue's Art. 20 summary of a conference (the first one stored wins)."""
        inserted = connection.execute(
            self._dialect.insert(summary_t)
            .values(
                venue_key=key,
                conference_id=conference_id,
                severity=severity,
                source=source,
                event_id=event_id,
                received_at=self.clock(),
                payload=payload,
            )
            .on_conflict_do_nothing()
            .returning(summary_t.c.venue_key)
        ).first()
        return inserted is not None

    def _selftest(self, connection: Connection, item: Accepted, outcome: Outcome) -> None:
        report: SelftestReport = item.model  # type: ignore[assignment]
        inserted = connection.execute(
            self._dialect.insert(selftest_t)
            .values(
                id=report.id,
                venue_key=item.place.key,
                trigger=report.trigger,
                verdict=report.verdict,
                conference_id=report.conference_id,
                ts=report.ts,
                received_at=item.incoming.received_at,
                payload=item.document,
            )
            .on_conflict_do_nothing()
            .returning(selftest_t.c.id)
        ).first()
        outcome.count("stored_selftests" if inserted is not None else "duplicate_selftests")

    def _metrics(self, connection: Connection, item: Accepted) -> None:
        metrics: Metrics = item.model  # type: ignore[assignment]
        connection.execute(
            update(status_t)
            .where(
                status_t.c.venue_key == item.place.key,
                or_(status_t.c.metrics_at.is_(None), status_t.c.metrics_at < metrics.ts),
            )
            .values(metrics=item.document, metrics_at=metrics.ts)
        )

    # -- the silence watcher -----------------------------------------------------------------------------
    def sweep_silence(self) -> Outcome:
        """Venues `online` but unheard for longer than their interval allows become `silent`; the
        cache of non-online states is refreshed from the database (another process may have moved them)."""
        outcome = Outcome()
        now = self.clock()
        with self.engine.begin() as connection:
            online = connection.execute(
                select(
                    venue_t.c.key, venue_t.c.last_seen, venue_t.c.availability_at, venue_t.c.status_interval_s
                ).where(venue_t.c.state == "online")
            ).all()
            for row in online:
                reference = row.last_seen or row.availability_at
                if reference is not None and now - reference <= self.silence_limit(row.status_interval_s):
                    continue
                guard = venue_t.c.last_seen.is_(None) if row.last_seen is None else venue_t.c.last_seen == row.last_seen
                self.transition(connection, row.key, "silent", now, "silence", outcome, ("online",), guard)
            others = dict(
                connection.execute(select(venue_t.c.key, venue_t.c.state).where(venue_t.c.state != "online")).all()
            )
        for key in list(self._state):
            self._state[key] = others.get(key, "online")
        self._state.update(others)
        return outcome


def _reported_part(contacts: dict[str, Any] | None, inventory: dict[str, Any] | None) -> dict[str, Any]:
    """The roles in `contacts` that did not come from the inventory (what the venue itself reported)."""
    return {role: value for role, value in (contacts or {}).items() if role not in (inventory or {})}
