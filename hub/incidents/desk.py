"""The incident desk: hears every stored event and state change, raises incidents, delivers them.

The ingest calls `on_event` and `on_state` for everything it stores, from whatever thread it runs on;
both only test a cheap condition and put the item on a bounded queue, so a slow database lookup or a
sink that is down never holds the ingest up. `run()` (an asyncio task beside the ingest in
`venue-hub run`) does the rest:

- one *intake* loop looks each queued item up in the database (which conference, which contacts),
  applies the rules (hub/incidents/rules.py) and keeps a new incident in the ledger with one pending
  delivery per sink that wants it;
- one *delivery* loop per sink claims its due deliveries, posts them (paced to the robots' limit),
  and on failure schedules the next attempt with exponential backoff, until delivered or given up.

A failing sink is logged (each failed attempt, and the giving-up), counted (`status()`, and the
ledger's totals shown by `venue-hub incidents`), and affects no other sink and not the ingest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, select

from contract.payloads import Event
from hub.db.models import Venue
from hub.incidents.config import SinkConfig
from hub.incidents.incident import ConferenceRef, Incident
from hub.incidents.ledger import Ledger
from hub.incidents.rules import (
    LOST_STATES,
    PRE_CONFERENCE_WINDOW,
    Directory,
    event_incident,
    is_candidate_event,
    not_ready_incident,
    state_incident,
)
from hub.incidents.sinks import Sink
from hub.incidents.texts import render

log = logging.getLogger(__name__)
QUEUE_LIMIT = 10_000
IDLE_POLL_S = 5.0  # a sink loop looks at the ledger at least this often (rows of other processes, restarts)
ERROR_PAUSE_S = 2.0  # after a database error in a loop, before it tries again
CLAIM_BATCH = 10
SWEEP_EVERY_S = 60.0  # rule 3: venues already down when a conference comes within the window
RECENT_CHANGE = timedelta(seconds=10)  # a state change younger than this is the intake's to report


def _utc_now() -> datetime:
    return datetime.now(UTC)


class IncidentDesk:
    """Raise and deliver incidents; build it only when the config has at least one `[[sink]]`."""

    def __init__(
        self,
        engine: Engine,
        sinks: list[SinkConfig],
        directory: Directory | None = None,
        *,
        environ: dict[str, str] | None = None,
        clock: Callable[[], datetime] = _utc_now,
        queue_limit: int = QUEUE_LIMIT,
    ):
        if directory is None:
            from hub.incidents.directory import DatabaseDirectory

            directory = DatabaseDirectory(engine)
        self.engine = engine
        self.ledger = Ledger(engine)
        self.directory = directory
        self.sinks = [Sink(config, environ) for config in sinks]
        self.clock = clock
        self._queue: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=queue_limit)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._intake_wake: asyncio.Event | None = None
        self._sweep_wake: asyncio.Event | None = None
        self._sink_wake: dict[str, asyncio.Event] = {}
        self._closing = False
        self.dropped = 0
        self.raised = 0
        self.lookup_errors = 0

    # -- called by the ingest, on any thread; must return at once --------------------------------
    def on_event(self, venue_key: str, event: Event, stored_at: datetime) -> None:
        """A newly stored event (after de-duplication): queued if it may be an incident."""
        if is_candidate_event(event):
            self._put(("event", venue_key, event, stored_at))

    def on_state(self, venue_key: str, previous: str, state: str, at: datetime) -> None:
        """A venue's state changed (online/offline/silent/never): queued if it is a loss."""
        if state in LOST_STATES and previous != state:
            self._put(("state", venue_key, state, at))

    def _put(self, item: tuple[Any, ...]) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.error("%s", render("desk.queue_full", venue=item[1], dropped=self.dropped).en)
            return
        self._nudge(self._intake_wake)

    def _nudge(self, event: asyncio.Event | None) -> None:
        loop = self._loop
        if loop is None or event is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed between the test and the call
            loop.call_soon_threadsafe(event.set)

    # -- the desk's own task ----------------------------------------------------------------------
    async def run(self) -> None:
        """Until close(): take in queued items, deliver due incidents. Returns after close()."""
        self._loop = asyncio.get_running_loop()
        self._intake_wake = asyncio.Event()
        self._sweep_wake = asyncio.Event()
        self._sink_wake = {sink.name: asyncio.Event() for sink in self.sinks}
        if not self._queue.empty():
            self._intake_wake.set()
        while not self._closing:
            try:
                await asyncio.to_thread(self.ledger.check)
                break
            except Exception as exc:  # the database is not reachable (or not migrated) yet: keep trying, ingest goes on
                log.error("incident ledger unavailable: %s", exc)
                await self._pause(self._intake_wake, ERROR_PAUSE_S)
        async with httpx.AsyncClient(follow_redirects=False) as client:
            tasks = [
                asyncio.create_task(self._intake_loop(), name="incident-intake"),
                asyncio.create_task(self._sweep_loop(), name="incident-sweep"),
            ]
            tasks += [
                asyncio.create_task(self._sink_loop(client, sink), name=f"sink-{sink.name}")
                for sink in self.sinks
                if sink.usable
            ]
            try:
                await asyncio.gather(*tasks)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        """Stop after the attempts in flight (each bounded by its sink's timeout). Safe from any thread."""
        self._closing = True
        self._nudge(self._intake_wake)
        self._nudge(self._sweep_wake)
        for event in self._sink_wake.values():
            self._nudge(event)

    async def _pause(self, wake: asyncio.Event | None, seconds: float) -> None:
        if wake is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=max(0.0, seconds))
        wake.clear()

    async def _intake_loop(self) -> None:
        while not self._closing:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                await self._pause(self._intake_wake, IDLE_POLL_S)
                continue
            try:
                incident = await asyncio.to_thread(self._evaluate, item)
                if incident is not None:
                    await self._raise(incident)
            except Exception:
                self.lookup_errors += 1
                log.exception("incident desk: could not handle a %s from %s", item[0], item[1])
                await asyncio.sleep(ERROR_PAUSE_S)

    async def _sweep_loop(self) -> None:
        """Every SWEEP_EVERY_S: venues scheduled within the window that are not online (rule 3)."""
        while not self._closing:
            try:
                for incident in await asyncio.to_thread(self._sweep, self.clock()):
                    await self._raise(incident)
            except Exception:
                self.lookup_errors += 1
                log.exception("incident desk: the pre-conference sweep failed")
            await self._pause(self._sweep_wake, SWEEP_EVERY_S)

    def _sweep(self, now: datetime) -> list[Incident]:
        """Rule 3. A venue whose lost state began less than RECENT_CHANGE ago is left to the intake: the
        ingest told the desk of that change (`on_state`), and its incident ("went offline N minutes
        before …") says more than "is offline"; both have one key, so whichever is raised first is the
        one sent — without this the sweep that runs as the desk starts could win that race."""
        found = []
        for venue_key, state, conference in self.directory.not_ready(now, now + PRE_CONFERENCE_WINDOW):
            key = f"availability:{conference.ref.id}:{venue_key}:{state}"
            if self.ledger.exists(key) or self._changed_recently(venue_key, now):
                continue
            incident = not_ready_incident(venue_key, state, now, self.directory.venue(venue_key), conference)
            if incident is not None:
                found.append(incident)
        return found

    def _changed_recently(self, venue_key: str, now: datetime) -> bool:
        with self.engine.connect() as connection:
            since = connection.execute(select(Venue.state_since).where(Venue.key == venue_key)).scalar_one_or_none()
        return since is not None and now - since < RECENT_CHANGE

    def _evaluate(self, item: tuple[Any, ...]) -> Incident | None:
        """Look the item up and apply the rules (on a worker thread: it reads the database)."""
        if item[0] == "event":
            _, venue_key, event, _stored_at = item
            conference: ConferenceRef | None = None
            if event.conference_id:
                conference = self.directory.conference(event.conference_id) or ConferenceRef(event.conference_id)
            else:
                conference = self.directory.conference_at(venue_key, event.ts)
            if conference is None:
                return None
            return event_incident(venue_key, event, self.directory.venue(venue_key), conference)
        _, venue_key, state, at = item
        upcoming = self.directory.conferences_between(venue_key, at, at + PRE_CONFERENCE_WINDOW)
        if not upcoming:
            return None
        return state_incident(venue_key, state, at, self.directory.venue(venue_key), upcoming)

    async def _raise(self, incident: Incident) -> None:
        targets = [sink.name for sink in self.sinks if sink.wants(incident)]
        new = await asyncio.to_thread(self.ledger.record, incident, targets, self.clock())
        if not new:
            return  # another hub process (or an earlier run) raised it already
        self.raised += 1
        log.warning("incident %s at %s: %s", incident.key, incident.venue, incident.message.en)
        for name in targets:
            self._nudge(self._sink_wake.get(name))

    async def _sink_loop(self, client: httpx.AsyncClient, sink: Sink) -> None:
        wake = self._sink_wake[sink.name]
        while not self._closing:
            try:
                wait_s = await self._deliver_due(client, sink)
            except Exception:
                log.exception("sink %s: delivery round failed", sink.name)
                wait_s = ERROR_PAUSE_S
            await self._pause(wake, wait_s)

    async def _deliver_due(self, client: httpx.AsyncClient, sink: Sink) -> float:
        """Post what is due now; returns how long to wait before looking again."""
        room = min(CLAIM_BATCH, sink.pacer.room(time.monotonic()))
        claimed = []
        if room > 0:
            claimed = await asyncio.to_thread(self.ledger.claim_due, self.clock(), [sink.name], room)
            for due in claimed:
                if self._closing:
                    await asyncio.to_thread(self.ledger.release, due, self.clock())
                    continue
                outcome = await sink.post(client, due.incident, self.clock())
                now = self.clock()
                if outcome.delivered:
                    await asyncio.to_thread(self.ledger.delivered, due, now)
                    log.info("sink %s: delivered %s (attempt %d)", sink.name, due.incident.key, due.attempt)
                elif outcome.retriable and due.attempt < sink.config.max_attempts:
                    delay = sink.backoff_s(due.attempt)
                    retry = now + timedelta(seconds=delay)
                    await asyncio.to_thread(self.ledger.retry_at, due, now, retry, outcome.reason)
                    text = render(
                        "sink.attempt_failed", sink=sink.name, attempt=due.attempt, reason=outcome.reason, delay=delay
                    )
                    log.warning("%s", text.en)
                else:
                    sink.health.given_up += 1
                    await asyncio.to_thread(self.ledger.given_up, due, now, outcome.reason)
                    text = render(
                        "sink.given_up",
                        sink=sink.name,
                        incident=due.incident.key,
                        attempts=due.attempt,
                        reason=outcome.reason,
                    )
                    log.error("%s", text.en)
        if claimed and len(claimed) == room and sink.pacer.room(time.monotonic()) > 0:
            return 0.0  # there may be more due at once
        pace_wait = sink.pacer.wait_s(time.monotonic())
        next_due = await asyncio.to_thread(self.ledger.next_due, [sink.name])
        due_wait = IDLE_POLL_S if next_due is None else (next_due - self.clock()).total_seconds()
        return min(IDLE_POLL_S, max(0.05, due_wait, pace_wait))

    # -- what the status shows --------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Counters since start: queue, incidents raised, and per sink its health (no URL, no secret)."""
        return {
            "queued": self._queue.qsize(),
            "dropped": self.dropped,
            "raised": self.raised,
            "lookup_errors": self.lookup_errors,
            "sinks": {
                sink.name: {
                    "kind": sink.config.kind,
                    "usable": sink.usable,
                    "problem": sink.problem,
                    **{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(sink.health).items()},
                }
                for sink in self.sinks
            },
        }
