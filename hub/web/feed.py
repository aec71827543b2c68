"""The overview's live feed: every venue's tile kept in memory, refreshed from `venue.changed_at`.

One poller per board process reads `SELECT … FROM venue WHERE changed_at >= :watermark - overlap` every
`POLL_S` (docs/hub.md, "What the board reads"), so a change made by any hub process — or by none, under
`venue-hub serve` alone — reaches the browsers within about half a second, and 10,000 venues cost one
indexed query per poll rather than a full read. The overlap re-reads the last two seconds, because two
processes' clocks differ by milliseconds and a transaction may commit after one that set a later time.

`changed_at` does not move when a venue merely falls silent without any ingest noticing (no watcher is
running, or the hub is behind); the views correct that at read time (`hub.views.venues.effective_state`)
and so does the feed: each poll also reads `last_seen` of the venues recorded online but unheard for
longer than the shortest silence limit, and of those it shows silent, so a tile turns silent — and back —
as `venue-hub venues` would say.

Each change bumps `generation`; a page is rendered from the same tiles with its generation, and its
event stream asks for what changed after it, so no change between the render and the stream is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import anyio
from sqlalchemy import Engine, select

from hub.config.models import HubSection
from hub.db.models import Venue, VenueStatus
from hub.scope import venue_in_scope
from hub.views.venues import effective_state

log = logging.getLogger("hub.web.feed")

POLL_S = 0.5
SILENCE_EVERY_S = 2.0  # the read-time silence check reads every unheard venue: not at every poll
OVERLAP = timedelta(seconds=2)
HISTORY_GENERATIONS = 2400  # 20 minutes of polls with a change: a page older than that reloads


@dataclass(frozen=True)
class Tile:
    key: str
    name: str
    prefecture: str
    county: str
    state: str  # the effective state (online/offline/silent/never)
    overall: str | None
    db_state: str
    last_seen: datetime | None
    interval: float | None

    @property
    def css(self) -> str:
        """The tile's colour: an online venue by its verdict, any other by its state."""
        if self.state == "online":
            return self.overall if self.overall in ("ok", "warn", "fail") else "unknown"
        return self.state

    def public(self) -> dict[str, str | None]:
        """What a browser gets for one tile (the stream's JSON): its colour, and where it goes (name,
        prefecture, county), so a venue that first appears while the page is open gets its tile."""
        return {
            "k": self.key,
            "c": self.css,
            "s": self.state,
            "o": self.overall,
            "n": self.name,
            "p": self.prefecture,
            "u": self.county,
        }


def utc_now() -> datetime:
    return datetime.now(UTC)


class TileFeed:
    def __init__(self, engine: Engine, hub: HubSection, clock: Callable[[], datetime] = utc_now):
        self.engine = engine
        self.hub = hub
        self.clock = clock
        self.tiles: dict[str, Tile] = {}
        self.generation = 0
        self.history: deque[tuple[int, tuple[str, ...]]] = deque(maxlen=HISTORY_GENERATIONS)
        self.watermark: datetime | None = None
        self.subscribers: set[asyncio.Queue[int]] = set()
        self.last_lag_s: deque[float] = deque(maxlen=10_000)  # changed_at → pushed, per tile (metrics reads it)
        self.lag_window: deque[float] = deque(maxlen=10_000)  # the same, kept for /healthz percentiles
        self.polls = 0
        self._silence_checked = 0.0
        self.poll_seconds = 0.0

    # ---- reading (worker thread) -------------------------------------------------------------
    def _select(self):
        return select(
            Venue.key,
            Venue.name,
            Venue.prefecture,
            Venue.county,
            Venue.state,
            Venue.last_seen,
            Venue.status_interval_s,
            Venue.changed_at,
            VenueStatus.overall,
        ).outerjoin(VenueStatus, VenueStatus.venue_key == Venue.key)

    def _light(self):
        """What the silence check needs: no status document, no join."""
        return select(Venue.key, Venue.state, Venue.last_seen, Venue.status_interval_s)

    def _tile(self, row, now: datetime) -> Tile:
        return Tile(
            key=row.key,
            name=row.name or row.key,
            prefecture=row.prefecture,
            county=row.county,
            state=effective_state(row.state, row.last_seen, row.status_interval_s, self.hub, now),
            overall=row.overall,
            db_state=row.state,
            last_seen=row.last_seen,
            interval=row.status_interval_s,
        )

    def load_all(self) -> None:
        """Read every venue in scope (at start)."""
        now = self.clock()
        with self.engine.connect() as connection:
            rows = connection.execute(self._select()).all()
        self.tiles = {row.key: self._tile(row, now) for row in rows if venue_in_scope(row.key, self.hub.scope)}
        stamps = [row.changed_at for row in rows if row.changed_at is not None]
        self.watermark = max(stamps) if stamps else None

    def read_changes(self) -> tuple[dict[str, Tile], datetime | None, list[datetime]]:
        """New tiles of the venues that changed (and the new watermark, and their changed_at times).

        Three narrow queries rather than one with OR (which no index serves): the changed rows through
        `ix_venue_changed_at`; the keys of venues recorded online but unheard past the shortest silence
        limit, from `venue` alone (never touching the status documents); and the venues shown silent by
        that correction, to see them heard again (those two every `SILENCE_EVERY_S`, from `venue` alone)."""
        now = self.clock()
        limit = self.hub.silent_after_intervals * self.hub.default_status_interval_s
        shortest = min((t.interval for t in self.tiles.values() if t.interval), default=None)
        cutoff = now - timedelta(seconds=self.hub.silent_after_intervals * shortest if shortest else limit)
        corrected = [k for k, t in self.tiles.items() if t.db_state == "online" and t.state != "online"]
        silent_changes: dict[str, Tile] = {}
        stale = (Venue.state == "online") & (Venue.last_seen < cutoff)
        with self.engine.connect() as connection:
            if self.watermark is None:
                rows = connection.execute(self._select()).all()
            else:
                rows = connection.execute(
                    self._select().where((Venue.changed_at >= self.watermark - OVERLAP) | Venue.changed_at.is_(None))
                ).all()
                light: list = []
                if time.monotonic() - self._silence_checked >= SILENCE_EVERY_S:
                    self._silence_checked = time.monotonic()
                    light = list(connection.execute(self._light().where(stale)).all())
                    fetched = {row.key for row in rows} | {row.key for row in light}
                    missing = sorted(set(corrected) - fetched)
                    for first in range(0, len(missing), 500):
                        light += connection.execute(self._light().where(Venue.key.in_(missing[first : first + 500])))
                changed_keys = {row.key for row in rows}
                for row in light:  # silence judged at read time: only the state and last_seen can differ
                    old = self.tiles.get(row.key)
                    if old is None or row.key in changed_keys:
                        continue
                    state = effective_state(row.state, row.last_seen, row.status_interval_s, self.hub, now)
                    if state != old.state or row.last_seen != old.last_seen:
                        silent_changes[row.key] = replace(
                            old,
                            state=state,
                            db_state=row.state,
                            last_seen=row.last_seen,
                            interval=row.status_interval_s,
                        )
        changed: dict[str, Tile] = {}
        stamps: list[datetime] = []
        for row in rows:
            if not venue_in_scope(row.key, self.hub.scope):
                continue
            tile = self._tile(row, now)
            old = self.tiles.get(row.key)
            if old is None or (old.state, old.overall, old.name) != (tile.state, tile.overall, tile.name):
                changed[row.key] = tile
                if row.changed_at is not None:
                    stamps.append(row.changed_at)
            elif old != tile:
                self.tiles[row.key] = replace(old, last_seen=tile.last_seen, db_state=tile.db_state)
        for key, tile in silent_changes.items():
            if tile.state != self.tiles[key].state:
                changed[key] = tile
            else:
                self.tiles[key] = tile
        seen = [row.changed_at for row in rows if row.changed_at is not None]
        watermark = max([*seen, *([self.watermark] if self.watermark else [])], default=None)
        return changed, watermark, stamps

    # ---- publishing (event loop) ------------------------------------------------------------
    def apply(self, changed: dict[str, Tile], watermark: datetime | None, stamps: list[datetime]) -> None:
        self.watermark = watermark
        if not changed:
            return
        self.tiles.update(changed)
        self.generation += 1
        self.history.append((self.generation, tuple(changed)))
        now = self.clock()
        lags = [(now - stamp).total_seconds() for stamp in stamps]
        self.last_lag_s.extend(lags)
        self.lag_window.extend(lags)
        for queue in list(self.subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(self.generation)

    def lag_percentiles(self) -> dict[str, float | None]:
        """p50/p99 of changed_at → pushed over the last 10,000 tile changes (the board's own delay)."""
        ordered = sorted(self.lag_window)
        if not ordered:
            return {"p50": None, "p99": None, "count": 0}
        pick = lambda q: round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 3)  # noqa: E731
        return {"p50": pick(0.5), "p99": pick(0.99), "count": len(ordered)}

    def changed_since(self, generation: int) -> list[str] | None:
        """Keys changed after `generation`, or None when that is older than the history kept."""
        if generation >= self.generation:
            return []
        if not self.history or self.history[0][0] > generation + 1:
            return None
        keys: dict[str, None] = {}
        for number, changed in self.history:
            if number > generation:
                keys.update(dict.fromkeys(changed))
        return list(keys)

    def subscribe(self) -> asyncio.Queue[int]:
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=64)
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[int]) -> None:
        self.subscribers.discard(queue)

    async def run(self) -> None:
        """Poll until cancelled; a database error is logged and the next poll tries again."""
        await anyio.to_thread.run_sync(self.load_all)
        while True:
            started = time.monotonic()
            try:
                changed, watermark, stamps = await anyio.to_thread.run_sync(self.read_changes)
                self.apply(changed, watermark, stamps)
            except Exception as exc:  # a database restart must not end the board's live updates
                log.warning("board feed: cannot read the venues (%s); trying again", str(exc)[:200])
            self.polls += 1
            self.poll_seconds += time.monotonic() - started
            await asyncio.sleep(max(0.05, POLL_S - (time.monotonic() - started)))


def count_states(tiles: list[Tile]) -> dict[str, int]:
    counts = {"ok": 0, "warn": 0, "fail": 0, "unknown": 0, "offline": 0, "silent": 0, "never": 0}
    for tile in tiles:
        counts[tile.css] = counts.get(tile.css, 0) + 1
    return counts
