"""Record holes in each venue's event `seq` instead of hiding them.

The agent numbers its events gap-free across restarts (docs/mqtt.md), so a missing number means an
event was lost somewhere between its outbox and this database. A hole is not declared at once: with
two hub processes on one shared subscription, the other process may still be storing the missing
event, and a redelivery after a reconnect can arrive out of order. So the sweeper walks each venue's
stored seqs above its cursor (`seq_cursor.contiguous_through`) and records a run as a `seq_gap` only
once the event *after* the hole has been stored for `gap_grace_s`; the cursor then moves past it.

The first event stored for a venue sets its baseline (the hub cannot know what happened before it was
installed). An agent whose state was wiped starts again at 1: those seqs lie below the cursor and
simply are stored; no gap is invented for them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from contract import topics
from hub.db.models import EventRecord, SeqCursor, SeqGap
from hub.messages import log_text

log = logging.getLogger("hub.ingest")

event_t = EventRecord.__table__
cursor_t = SeqCursor.__table__
gap_t = SeqGap.__table__
WALK_LIMIT = 5000  # seqs examined per venue per sweep; the rest next time
VENUES_PER_TRANSACTION = 500


class GapSweeper:
    def __init__(self, engine: Engine, grace_s: float, clock: Callable[[], datetime]):
        self.engine = engine
        self.grace = timedelta(seconds=grace_s)
        self.clock = clock
        self._dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        self.pending: set[str] = set()
        self._resume_after: str | None = None  # where a sweep cut short by its budget goes on

    def start(self) -> None:
        """At start every venue with events is looked at once (another run may have stopped mid-way)."""
        with self.engine.connect() as connection:
            self.pending.update(connection.execute(select(event_t.c.venue_key).distinct()).scalars())

    def sweep(self, budget_s: float | None = None) -> int:
        """Examine the venues with new events (in transactions of up to `VENUES_PER_TRANSACTION`);
        returns how many gaps were recorded.

        With `budget_s`, stop after about that long and go on from the next venue at the next call (in
        key order, round the set): the sweep runs on the store thread, and at start every venue with
        events is pending — 10,000 venues at four or five statements each held the thread for many
        seconds, nothing stored meanwhile (the backlog a restarted hub must drain, waiting behind it).
        A hole is only recorded after its grace period anyway, so a later look loses nothing."""
        recorded = 0
        keys = sorted(self.pending)
        if budget_s is not None and self._resume_after is not None:
            later = [key for key in keys if key > self._resume_after]
            keys = later + keys[: len(keys) - len(later)]
        deadline = time.monotonic() + budget_s if budget_s is not None else None
        self._resume_after = None
        for start in range(0, len(keys), VENUES_PER_TRANSACTION):
            with self.engine.begin() as connection:
                for key in keys[start : start + VENUES_PER_TRANSACTION]:
                    done, found = self._sweep_venue(connection, key)
                    recorded += found
                    if done:
                        self.pending.discard(key)
                    self._count_recovered(connection, key)
                    if deadline is not None and time.monotonic() >= deadline:
                        self._resume_after = key
                        return recorded
        return recorded

    def _count_recovered(self, connection: Connection, key: str) -> None:
        """How many events of each recorded gap of `key` arrived after all (late redeliveries)."""
        gaps = connection.execute(
            select(gap_t.c.id, gap_t.c.from_seq, gap_t.c.to_seq, gap_t.c.recovered).where(
                gap_t.c.venue_key == key, gap_t.c.kind == topics.EVENTS
            )
        ).all()
        for gap in gaps:
            arrived = connection.execute(
                select(func.count())
                .select_from(event_t)
                .where(event_t.c.venue_key == key, event_t.c.seq.between(gap.from_seq, gap.to_seq))
            ).scalar_one()
            if arrived != gap.recovered:
                connection.execute(update(gap_t).where(gap_t.c.id == gap.id).values(recovered=arrived))

    def _sweep_venue(self, connection: Connection, key: str) -> tuple[bool, int]:
        now = self.clock()
        settled = now - self.grace
        cursor = connection.execute(
            select(cursor_t.c.contiguous_through).where(cursor_t.c.venue_key == key, cursor_t.c.kind == topics.EVENTS)
        ).scalar_one_or_none()
        query = select(event_t.c.seq, event_t.c.received_at).where(event_t.c.venue_key == key)
        if cursor is not None:
            query = query.where(event_t.c.seq > cursor)
        rows = connection.execute(query.order_by(event_t.c.seq).limit(WALK_LIMIT)).all()
        if not rows:
            return True, 0
        if cursor is None:
            if min(row.received_at for row in rows) > settled:
                return False, 0  # let the first events settle before fixing the baseline
            start = rows[0].seq - 1
            connection.execute(
                self._dialect.insert(cursor_t)
                .values(venue_key=key, kind=topics.EVENTS, contiguous_through=start, updated_at=now)
                .on_conflict_do_nothing()
            )
            cursor = start
        expected = cursor + 1
        found = 0
        complete = True
        for row in rows:
            if row.seq < expected:
                continue  # the same seq under another id (an agent that lost its state): stored, no gap
            if row.seq > expected:
                if row.received_at > settled:
                    complete = False
                    break
                inserted = connection.execute(
                    self._dialect.insert(gap_t)
                    .values(
                        venue_key=key,
                        kind=topics.EVENTS,
                        from_seq=expected,
                        to_seq=row.seq - 1,
                        detected_at=now,
                        recovered=0,
                    )
                    .on_conflict_do_nothing()
                    .returning(gap_t.c.id)
                ).first()
                if inserted is not None:
                    found += 1
                    first, last = expected, row.seq - 1
                    log.warning(log_text("venue.seq_gap", venue=key, first=first, last=last, count=last - first + 1))
            expected = row.seq + 1
        connection.execute(
            update(cursor_t)
            .where(
                cursor_t.c.venue_key == key,
                cursor_t.c.kind == topics.EVENTS,
                cursor_t.c.contiguous_through < expected - 1,
            )
            .values(contiguous_through=expected - 1, updated_at=now)
        )
        return complete and len(rows) < WALK_LIMIT, found
