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

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Float, and_, bindparam, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from contract import topics
from contract.payloads import Event, SelftestReport
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
from hub.ingest.availability_order import broker_time, is_older, recorded_key
from hub.ingest.decode import Accepted, StatusFacts
from hub.messages import log_text
from hub.snapshots.decode import SnapshotRejected
from hub.snapshots.store import store_snapshot

log = logging.getLogger("hub.ingest")

venue_t = Venue.__table__
# What the state machine reads of a venue (the batch's own venues and the silence sweep alike).
STATE_COLUMNS = (
    venue_t.c.key,
    venue_t.c.state,
    venue_t.c.state_since,
    venue_t.c.availability,
    venue_t.c.availability_at,
    venue_t.c.availability_broker_at,
    venue_t.c.last_seen,
    venue_t.c.status_interval_s,
    venue_t.c.changed_at,
)
status_t = VenueStatus.__table__
event_t = EventRecord.__table__
selftest_t = SelftestRecord.__table__
summary_t = ConferenceSummary.__table__
transition_t = AvailabilityTransition.__table__

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
    broker_at: datetime | None = None  # an availability's: when the broker got it (None: unknown, or no availability)


@dataclass
class Outcome:
    """What one batch changed: the desk is told about `new_events` and `transitions` after the commit."""

    new_events: list[tuple[str, Event, datetime]] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n


def _by_key(row: dict[str, Any]) -> str:
    """Rows that update venues go in key order: two hub processes on PostgreSQL then lock the venue
    rows they share in the same order (fewer deadlocks; one that happens is retried as transient)."""
    return row["b_key"]


def _by_venue(row: dict[str, Any]) -> str:
    return row["venue_key"]


def merged_contacts(reported: dict[str, Any] | None, inventory: dict[str, Any] | None) -> dict[str, Any]:
    """The venue's own contacts with each role the office filed replacing the venue's."""
    return {**(reported or {}), **(inventory or {})}


class Store:
    """Writes the ingest's batches; one instance per hub process, used from one thread."""

    def __init__(self, engine: Engine, hub: HubSection, clock: Callable[[], datetime] = utc_now):
        self.engine = engine
        self.hub = hub
        self.clock = clock
        self.keep_snapshots = 20  # self-test snapshots kept per venue ([snapshots] keep_selftest)
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
        # `venue.changed_at` (what the board polls): moved by a status only when it is newer than the one
        # stored and its `overall` or `failing` differ; run before the status upsert that replaces it.
        changed = bindparam("b_changed", type_=UtcDateTime())
        status_ts = bindparam("b_ts", type_=UtcDateTime())
        same_or_newer = (
            select(status_t.c.venue_key)
            .where(
                status_t.c.venue_key == venue_t.c.key,
                or_(
                    status_t.c.ts >= status_ts,
                    and_(
                        status_t.c.overall == bindparam("b_overall"),
                        status_t.c.failing == bindparam("b_failing", type_=JsonDocument),
                    ),
                ),
            )
            .exists()
        )
        self._sql_status_changed = (
            update(venue_t).where(venue_t.c.key == bindparam("b_key"), ~same_or_newer).values(changed_at=changed)
        )
        self._sql_changed = update(venue_t).where(venue_t.c.key == bindparam("b_key")).values(changed_at=changed)
        self._sql_state_rows = (
            select(*STATE_COLUMNS).where(venue_t.c.key.in_(bindparam("b_keys", expanding=True))).order_by(venue_t.c.key)
        )
        self._sql_write_state = (
            update(venue_t)
            .where(venue_t.c.key == bindparam("b_key"))
            .values(
                state=bindparam("b_state"),
                state_since=bindparam("b_state_since", type_=UtcDateTime()),
                availability=bindparam("b_availability"),
                availability_at=bindparam("b_availability_at", type_=UtcDateTime()),
                availability_broker_at=bindparam("b_availability_broker_at", type_=UtcDateTime()),
                changed_at=bindparam("b_changed", type_=UtcDateTime()),
            )
        )
        # The venue's own fields from its status; the office's inventory names its venues (a venue it
        # does not list is named by itself), and a status that states no interval keeps the known one.
        self._sql_venue_fields = (
            update(venue_t)
            .where(venue_t.c.key == bindparam("b_key"))
            .values(
                contacts=bindparam("b_contacts", type_=JsonDocument),
                level=bindparam("b_level"),
                status_interval_s=func.coalesce(bindparam("b_interval", type_=Float()), venue_t.c.status_interval_s),
                name=case((venue_t.c.in_inventory.is_(True), venue_t.c.name), else_=bindparam("b_name")),
            )
        )
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
                        changed_at=now,
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
        venue_rows: list[dict[str, Any]] = []
        snapshots: list[Accepted] = []
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
                    row = self._status_row(item, venue_rows)
                    if key not in statuses or statuses[key]["ts"] < row["ts"]:
                        statuses[key] = row
                    at = now if live else min(row["ts"], now)  # a retained status: alive at its ts, not now
                elif item.leaf == topics.EVENTS:
                    event_id = item.model.id  # type: ignore[union-attr]
                    if event_id in events:
                        outcome.count("duplicate_events")
                    events[event_id] = item
                elif item.leaf == topics.SNAPSHOT:
                    snapshots.append(item)
                elif item.leaf == topics.SELFTEST:
                    selftests[item.model.id] = self._selftest_row(item)  # type: ignore[union-attr]
                    at = now if live else min(item.ts, now)  # type: ignore[type-var]
                else:
                    row = {"b_key": key, "b_metrics": item.document, "b_metrics_at": item.ts}
                    if key not in metrics or metrics[key]["b_metrics_at"] < row["b_metrics_at"]:
                        metrics[key] = row
                if at is not None:
                    previous = heard.get(key)
                    heard[key] = (max(at, previous[0]) if previous else at, live or bool(previous and previous[1]))
            if venue_rows:
                connection.execute(self._sql_venue_fields, sorted(venue_rows, key=_by_key))
            if statuses:
                changed_at = self.clock()
                connection.execute(
                    self._sql_status_changed,
                    [
                        {
                            "b_key": row["venue_key"],
                            "b_ts": row["ts"],
                            "b_overall": row["overall"],
                            "b_failing": row["failing"],
                            "b_changed": changed_at,
                        }
                        for row in sorted(statuses.values(), key=_by_venue)
                    ],
                )
                connection.execute(self._sql_status, sorted(statuses.values(), key=_by_venue))
            if metrics:
                connection.execute(self._sql_metrics, sorted(metrics.values(), key=_by_key))
            if events:
                self._insert_events(connection, list(events.values()), outcome)
            if selftests:
                stored = connection.execute(self._sql_selftest, list(selftests.values())).scalars().all()
                if stored:
                    changed_at = self.clock()
                    tested = {selftests[report_id]["venue_key"] for report_id in stored}
                    connection.execute(self._sql_changed, [{"b_key": k, "b_changed": changed_at} for k in tested])
                outcome.count("stored_selftests", len(stored))
                outcome.count("duplicate_selftests", len(selftests) - len(stored))
            for item in snapshots:
                self._store_snapshot(connection, item, outcome)
            self._touch_all(connection, heard)
            self._states(connection, availabilities, heard, outcome)

    def _store_snapshot(self, connection: Connection, item: Accepted, outcome: Outcome) -> None:
        """The venue's newest uplink picture (and a bounded history of self-test ones: hub/snapshots/);
        one refused is counted and logged, never a failed batch."""
        try:
            new = store_snapshot(
                connection,
                item.place.key,
                item.incoming.payload,
                None,
                item.incoming.received_at,
                keep_selftest=self.keep_snapshots,
            )
        except SnapshotRejected as exc:
            outcome.count(f"rejected.snapshot_{exc.reason}")
            log.warning("snapshot from %s refused (%s): %s", item.place.key, exc.reason, exc.detail)
            return
        outcome.count("stored_snapshots" if new else "duplicate_snapshots")

    def _ensure_venues(self, connection: Connection, items: list[Accepted]) -> None:
        new: dict[str, dict[str, Any]] = {}
        changed_at = self.clock()  # a venue appearing is a change the board shows
        for item in items:
            key = item.place.key
            if key in self._known or key in new:
                continue
            place = item.place
            new[key] = {
                "key": key,
                "province": place.province,
                "prefecture": place.prefecture,
                "county": place.county,
                "venue_id": place.venue,
                "name": item.venue_name,
                "level": item.venue_level or ("prefecture" if place.county == "_" else "county"),
                "in_inventory": False,
                "state": "never",
                "state_since": item.incoming.received_at,
                "changed_at": changed_at,
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
            connection.execute(self._sql_touch, sorted(rows, key=_by_key))

    # -- state -------------------------------------------------------------------------------------------
    def silence_limit(self, status_interval_s: float | None) -> timedelta:
        interval = status_interval_s or self.hub.default_status_interval_s
        return timedelta(seconds=self.hub.silent_after_intervals * interval)

    def _states(
        self,
        connection: Connection,
        availabilities: list[Accepted],
        heard: dict[str, tuple[datetime, bool]],
        outcome: Outcome,
    ) -> None:
        """The batch's availabilities (in arrival order), then the revival of venues heard live.

        The rows of every venue concerned are read with one SELECT — on PostgreSQL `FOR UPDATE`, in key
        order (so two processes lock in the same order), on SQLite under the transaction's write lock
        (BEGIN IMMEDIATE) — so what is decided from them in memory cannot be overtaken by another hub
        process before this transaction commits. The result is written back with one executemany
        UPDATE and one executemany INSERT of the transitions, instead of four statements per venue.
        """
        revive = [
            key
            for key, (_at, live) in heard.items()
            if live and self._state.get(key, "unknown") in ("silent", "never", "unknown")
        ]
        keys = sorted({item.place.key for item in availabilities}.union(revive))
        if not keys:
            return
        query = self._sql_state_rows
        if self._dialect is postgresql:
            query = query.with_for_update()
        rows = {row.key: dict(row._mapping) for row in connection.execute(query, {"b_keys": keys})}
        dirty: set[str] = set()
        changes: list[Transition] = []
        for item in availabilities:
            row = rows.get(item.place.key)
            if row is not None and self._availability(row, item, outcome, changes):
                dirty.add(row["key"])
        for key in revive:
            row = rows.get(key)
            if row is None:
                continue
            # a venue heard from live is online again, unless it said it is offline
            if row["state"] in ("silent", "never") and row["availability"] != "offline":
                self._move(row, "online", heard[key][0], "heard", changes)
                dirty.add(key)
            self._state[key] = row["state"]
        self._write_states(connection, rows, sorted(dirty), changes, outcome)

    def _write_states(
        self,
        connection: Connection,
        rows: dict[str, dict[str, Any]],
        dirty: list[str],
        changes: list[Transition],
        outcome: Outcome,
    ) -> None:
        """Write the changed rows back (one executemany) and record the transitions (one more)."""
        if dirty:
            connection.execute(
                self._sql_write_state,
                [
                    {
                        "b_key": key,
                        "b_state": rows[key]["state"],
                        "b_state_since": rows[key]["state_since"],
                        "b_availability": rows[key]["availability"],
                        "b_availability_at": rows[key]["availability_at"],
                        "b_availability_broker_at": rows[key]["availability_broker_at"],
                        "b_changed": rows[key]["changed_at"],
                    }
                    for key in dirty
                ],
            )
        if changes:
            connection.execute(
                transition_t.insert(),
                [
                    {
                        "venue_key": c.venue_key,
                        "previous": c.previous,
                        "state": c.state,
                        "at": c.at,
                        "reason": c.reason,
                        "broker_at": c.broker_at,
                    }
                    for c in changes
                ],
            )
            for change in changes:
                self._state[change.venue_key] = change.state
                outcome.transitions.append(change)
                log.info(
                    log_text(
                        "venue.state_changed", venue=change.venue_key, previous=change.previous, state=change.state
                    )
                )
            outcome.count("transitions", len(changes))

    def _move(
        self,
        row: dict[str, Any],
        new: str,
        at: datetime,
        reason: str,
        changes: list[Transition],
        broker_at: datetime | None = None,
    ) -> None:
        """Change the state in the read row (written back by `_states`) and note the transition."""
        if row["state"] == new:
            return
        changes.append(Transition(row["key"], row["state"], new, at, reason, broker_at))
        row["state"], row["state_since"], row["changed_at"] = new, at, self.clock()

    def _availability(self, row: dict[str, Any], item: Accepted, outcome: Outcome, changes: list[Transition]) -> bool:
        """Apply one availability to the venue's read row, unless a newer one is already recorded; True if applied.

        "Newer" is by when the broker got each copy (hub/ingest/availability_order.py): the broker counts
        the agent's Message Expiry Interval down while a copy waits, so an `offline` that waited an hour
        in a disconnected process's session queue is an hour old when it arrives, and loses to the
        `online` another process recorded meanwhile (`availability_stale`). Without the property it is
        receipt order (`availability_at`, the hub's clock): two processes handed a venue's `offline` and
        its next `online` commit them in either order, and the one that commits second finds the other's
        later one in the row it locked. Either way the venue's two availabilities are at least its
        reconnect delay apart (a second or more), more than the clocks of one office's hub machines differ.

        A retained copy (the start-up snapshot) is the state as of the snapshot's start: any live
        availability recorded since then is newer (`snapshot_superseded`).
        """
        now = item.incoming.received_at
        snapshot = item.incoming.snapshot_started
        broker_at = broker_time(item.incoming)
        recorded = row["availability_at"]
        if recorded is not None and is_older(
            recorded_key(row["availability_broker_at"], recorded), item.incoming, broker_at
        ):
            outcome.count("snapshot_superseded" if snapshot is not None else "availability_stale")
            return False
        if row["availability"] != item.availability:
            row["changed_at"] = self.clock()
        row["availability"], row["availability_at"], row["availability_broker_at"] = item.availability, now, broker_at
        if item.availability == "offline":
            self._move(row, "offline", now, "availability", changes, broker_at)
            return True
        # A retained `online` read at start is believed only as far as the venue's last message allows
        # (nothing heard yet: believed, and the silence watcher judges it once its status has been read).
        last_seen = row["last_seen"]
        fresh = (
            not item.incoming.retain
            or last_seen is None
            or now - last_seen <= self.silence_limit(row["status_interval_s"])
        )
        self._move(row, "online" if fresh else "silent", now, "availability", changes, broker_at)
        return True

    # -- payloads ----------------------------------------------------------------------------------------
    def _status_row(self, item: Accepted, venue_rows: list[dict[str, Any]]) -> dict[str, Any]:
        """The status row to upsert; the venue's own fields (name, contacts, interval), when they changed,
        added to `venue_rows` (written with one executemany by `_apply`). Read from the decoded facts,
        not the model: a decode worker sends no status model back (hub/ingest/decode.py)."""
        facts: StatusFacts = item.status  # type: ignore[assignment]
        key, now = item.place.key, item.incoming.received_at
        values = {
            "venue_key": key,
            "ts": item.ts,
            "received_at": now,
            "overall": facts.overall,
            "failing": facts.failing,
            "payload": item.document,
        }
        interval = facts.status_interval_s
        reported = facts.contacts
        fields = (item.venue_name, item.venue_level, reported, interval)
        if self._venue_fields.get(key) != fields:
            inventory = self._inventory_contacts.get(key)
            venue_rows.append(
                {
                    "b_key": key,
                    "b_contacts": merged_contacts(reported, inventory) or None,
                    "b_level": item.venue_level,
                    "b_interval": interval,
                    "b_name": item.venue_name,
                }
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
                data = json.loads(item.document or "{}").get("data", {})
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
    def sweep_silence(self, heard_until: datetime | None = None) -> Outcome:
        """Venues `online` but unheard for longer than their interval allows become `silent`; the
        cache of non-online states is refreshed from the database (another process may have moved them).

        `heard_until` is how far this process has heard everything (the receipt time of the oldest
        message still waiting in its queue): silence is judged as of then, not as of the clock, so a
        hub that is behind does not call venues silent whose messages sit in its own queue (and revive
        them moments later — writes that only put it further behind)."""
        outcome = Outcome()
        now = self.clock() if heard_until is None else min(self.clock(), heard_until)
        with self.engine.begin() as connection:
            # Only venues unheard for longer than the shortest limit any venue has are read (the
            # database filters, rather than 10,000 rows coming back each second); each is then judged
            # by its own interval. They are read FOR UPDATE on PostgreSQL (SQLite holds its write lock),
            # so the decision cannot be overtaken by a message another process stores meanwhile, and
            # written back with one executemany however many venues fell silent at once (a dead bridge).
            shortest = connection.execute(select(func.min(venue_t.c.status_interval_s))).scalar()
            default = self.hub.default_status_interval_s
            cutoff = now - self.silence_limit(min(shortest, default) if shortest else default)
            reference = func.coalesce(venue_t.c.last_seen, venue_t.c.availability_at, type_=UtcDateTime())
            query = (
                select(*STATE_COLUMNS)
                .where(venue_t.c.state == "online", or_(reference.is_(None), reference < cutoff))
                .order_by(venue_t.c.key)
            )
            if self._dialect is postgresql:
                query = query.with_for_update()
            rows: dict[str, dict[str, Any]] = {}
            changes: list[Transition] = []
            for found in connection.execute(query):
                row = dict(found._mapping)
                seen = row["last_seen"] or row["availability_at"]
                if seen is not None and now - seen <= self.silence_limit(row["status_interval_s"]):
                    continue
                self._move(row, "silent", now, "silence", changes)
                rows[row["key"]] = row
            self._write_states(connection, rows, sorted(rows), changes, outcome)
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
