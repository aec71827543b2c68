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

from sqlalchemy import Connection, Engine, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from contract import topics
from contract.payloads import Event, SelftestReport, Status
from hub.config.inventory import Inventory
from hub.config.models import HubSection
from hub.db.models import (
    AvailabilityTransition,
    ConferenceSummary,
    EventRecord,
    JsonDocument,
    SelftestRecord,
    UtcDateTime,
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
        self._prepare()

    def _prepare(self) -> None:
        """The statements of the hot path, built once: building a statement costs SQLAlchemy far more
        than SQLite takes to run it, and a statement object reused is compiled once (cached)."""
        insert = self._dialect.insert
        heard = bindparam("b_heard", type_=UtcDateTime())
        self._sql_touch = (
            update(venue_t)
            .where(venue_t.c.key == bindparam("b_key"), or_(venue_t.c.last_seen.is_(None), venue_t.c.last_seen < heard))
            .values(last_seen=heard, first_seen=func.coalesce(venue_t.c.first_seen, heard))
        )
        self._sql_new_venue = insert(venue_t).on_conflict_do_nothing()
        status = insert(status_t)
        self._sql_status = status.on_conflict_do_update(
            index_elements=[status_t.c.venue_key],
            set_={name: status.excluded[name] for name in ("ts", "received_at", "overall", "failing", "payload")},
            where=status_t.c.ts < status.excluded.ts,
        )
        self._sql_event = insert(event_t).on_conflict_do_nothing().returning(event_t.c.id)
        self._sql_selftest = insert(selftest_t).on_conflict_do_nothing().returning(selftest_t.c.id)
        self._sql_summary = insert(summary_t).on_conflict_do_nothing().returning(summary_t.c.venue_key)
        metrics_at = bindparam("b_metrics_at", type_=UtcDateTime())
        self._sql_metrics = (
            update(status_t)
            .where(
                status_t.c.venue_key == bindparam("b_key"),
                or_(status_t.c.metrics_at.is_(None), status_t.c.metrics_at < metrics_at),
            )
            .values(metrics=bindparam("b_metrics", type_=JsonDocument), metrics_at=metrics_at)
        )

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
        """Apply `items` in one transaction (all or nothing: on error nothing is acknowledged).

        Statuses, metrics, events, self-tests and last-seen times go to the database as one
        executemany each — their conditions (`WHERE ts < new ts`, `ON CONFLICT DO NOTHING`) make the
        order within a batch irrelevant. Availabilities and the state changes they cause are applied
        after them, in arrival order, so that they see the batch's last-seen times.
        """
        outcome = Outcome()
        statuses: dict[str, dict[str, Any]] = {}
        metrics: dict[str, dict[str, Any]] = {}
        events: dict[str, Accepted] = {}
        selftests: dict[str, dict[str, Any]] = {}
        availabilities: list[Accepted] = []
        heard: dict[str, tuple[datetime, bool]] = {}
        try:
            self._apply(items, outcome, statuses, metrics, events, selftests, availabilities, heard)
        except Exception:
            self._forget()  # the caches may describe writes that were rolled back
            raise
        return outcome

    def _forget(self) -> None:
        self._known.clear()
        self._state.clear()
        self._last_seen_written.clear()
        self._venue_fields.clear()

    def _apply(
        self,
        items: list[Accepted],
        outcome: Outcome,
        statuses: dict[str, dict[str, Any]],
        metrics: dict[str, dict[str, Any]],
        events: dict[str, Accepted],
        selftests: dict[str, dict[str, Any]],
        availabilities: list[Accepted],
        heard: dict[str, tuple[datetime, bool]],
    ) -> None:
        with self.engine.begin() as connection:
            self._ensure_venues(connection, items)
            for item in items:
                outcome.count(f"accepted.{item.leaf}")
                key, now, live = item.place.key, item.incoming.received_at, not item.incoming.retain
                at: datetime | None = now
                if item.leaf == topics.AVAILABILITY:
                    availabilities.append(item)
                    at = now if live else None
                elif item.leaf == topics.STATUS:
                    row = self._status_row(connection, item)
                    if key not in statuses or statuses[key]["ts"] < row["ts"]:
                        statuses[key] = row
                    at = now if live else min(row["ts"], now)  # a retained status: alive at its ts, not now
                elif item.leaf == topics.EVENTS:
                    event_id = item.model.id  # type: ignore[union-attr]
                    if event_id in events:
                        outcome.count("duplicate_events")
                    events[event_id] = item
                elif item.leaf == topics.SELFTEST:
                    selftests[item.model.id] = self._selftest_row(item)  # type: ignore[union-attr]
                    at = now if live else min(item.model.ts, now)  # type: ignore[union-attr]
                else:
                    row = {"b_key": key, "b_metrics": item.document, "b_metrics_at": item.model.ts}  # type: ignore[union-attr]
                    if key not in metrics or metrics[key]["b_metrics_at"] < row["b_metrics_at"]:
                        metrics[key] = row
                if at is not None:
                    previous = heard.get(key)
                    heard[key] = (max(at, previous[0]) if previous else at, live or bool(previous and previous[1]))
            if statuses:
                connection.execute(self._sql_status, list(statuses.values()))
            if metrics:
                connection.execute(self._sql_metrics, list(metrics.values()))
            if events:
                self._insert_events(connection, list(events.values()), outcome)
            if selftests:
                stored = connection.execute(self._sql_selftest, list(selftests.values())).scalars().all()
                outcome.count("stored_selftests", len(stored))
                outcome.count("duplicate_selftests", len(selftests) - len(stored))
            self._touch_all(connection, heard)
            for item in availabilities:
                self._availability(connection, item, outcome)
            for key, (at, live) in heard.items():
                if live:
                    self._revive(connection, key, at, outcome)

    def _ensure_venues(self, connection: Connection, items: list[Accepted]) -> None:
        new: dict[str, dict[str, Any]] = {}
        for item in items:
            key = item.place.key
            if key in self._known or key in new:
                continue
            place, ref = item.place, getattr(item.model, "venue", None)
            new[key] = {
                "key": key,
                "province": place.province,
                "prefecture": place.prefecture,
                "county": place.county,
                "venue_id": place.venue,
                "name": ref.name if ref else None,
                "level": ref.level if ref else ("prefecture" if place.county == "_" else "county"),
                "in_inventory": False,
                "state": "never",
                "state_since": item.incoming.received_at,
            }
        if new:
            connection.execute(self._sql_new_venue, list(new.values()))
            self._known.update(new)

    def _touch_all(self, connection: Connection, heard: dict[str, tuple[datetime, bool]]) -> None:
        rows = []
        for key, (at, _live) in heard.items():
            written = self._last_seen_written.get(key)
            if written is None or at - written >= LAST_SEEN_RESOLUTION:
                rows.append({"b_key": key, "b_heard": at})
                self._last_seen_written[key] = at
        if rows:
            connection.execute(self._sql_touch, rows)

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
    def _status_row(self, connection: Connection, item: Accepted) -> dict[str, Any]:
        """The status row to upsert; the venue's own fields (name, contacts, interval) updated when changed."""
        status: Status = item.model  # type: ignore[assignment]
        key, now = item.place.key, item.incoming.received_at
        failing = sorted(check for check, finding in status.checks.items() if finding.verdict in FAILING_VERDICTS)
        values = {
            "venue_key": key,
            "ts": status.ts,
            "received_at": now,
            "overall": status.overall.value,
            "failing": failing,
            "payload": item.document,
        }
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
        return values

    def _insert_events(self, connection: Connection, items: list[Accepted], outcome: Outcome) -> None:
        rows = []
        for item in items:
            event: Event = item.model  # type: ignore[assignment]
            rows.append(
                {
                    "id": event.id,
                    "venue_key": item.place.key,
                    "seq": event.seq,
                    "code": event.code,
                    "severity": event.severity.value,
                    "ts": event.ts,
                    "conference_id": event.conference_id,
                    "check_id": event.check,
                    "verdict": event.verdict.value if event.verdict is not None else None,
                    "payload": item.document,
                    "received_at": item.incoming.received_at,
                }
            )
        stored = set(connection.execute(self._sql_event, rows).scalars().all())
        outcome.count("stored_events", len(stored))
        outcome.count("duplicate_events", len(items) - len(stored))
        for item in items:
            event = item.model  # type: ignore[assignment]
            if event.id not in stored:
                continue
            key = item.place.key
            outcome.new_events.append((key, event, item.incoming.received_at))
            self.events_touched.add(key)
            if event.code == "conference.summary" and event.conference_id:
                data = (item.document or {}).get("data", {})
                self.store_summary(connection, key, event.conference_id, event.severity.value, data, "event", event.id)

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
            self._sql_summary,
            {
                "venue_key": key,
                "conference_id": conference_id,
                "severity": severity,
                "source": source,
                "event_id": event_id,
                "received_at": self.clock(),
                "payload": payload,
            },
        ).first()
        return inserted is not None

    def _selftest_row(self, item: Accepted) -> dict[str, Any]:
        report: SelftestReport = item.model  # type: ignore[assignment]
        return {
            "id": report.id,
            "venue_key": item.place.key,
            "trigger": report.trigger,
            "verdict": report.verdict,
            "conference_id": report.conference_id,
            "ts": report.ts,
            "received_at": item.incoming.received_at,
            "payload": item.document,
        }

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
