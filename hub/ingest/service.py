"""`venue-hub run`: the ingest service — broker session, store thread, watchers and the incident desk.

Threads: paho's network thread receives and queues each message; one store thread takes the queue
in batches (up to `BATCH_MAX` (1000) messages or whatever arrived within `BATCH_WAIT_S`), decodes, stores
them in one transaction, then acknowledges them to the broker and tells the desk what was new. The
same thread runs the periodic jobs (silence, seq gaps, heartbeat) between batches, so one process
writes from one thread. The asyncio loop only waits for SIGTERM/SIGINT and runs the desk.

Decoding (validation against the contract models: most of the CPU) runs in `[hub] decode_workers`
worker processes when that is above 0: a batch's payloads go to the pool, and while they are
validated the store thread stores the batch before it, so the two overlap on two cores. Batches are
still stored, acknowledged and reported in the order they were taken; a broken pool (a worker killed)
is replaced, the batch decoded in this process meanwhile.

A batch that fails on a database error (the server restarting, a lock timeout) is retried whole with
backoff and nothing of it is acknowledged meanwhile — the broker keeps it and sends no more than
Receive Maximum further messages, which is the back-pressure. A batch that fails otherwise is
retried message by message; a message that still fails is logged (`ingest.store_failed`), counted
and acknowledged, so one poisoned message cannot stall the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError

from contract.payloads import Event
from hub.config.inventory import Inventory
from hub.config.models import HubSettings
from hub.db.engine import writer_engine
from hub.db.models import HubProcess
from hub.ingest.decode import (
    Accepted,
    Decoded,
    Ignored,
    Incoming,
    Rejection,
    attach,
    decode,
    decode_batch,
    tune_gc,
    warm_worker,
)
from hub.ingest.gaps import GapSweeper
from hub.ingest.store import Outcome, Store, Transition
from hub.ingest.subscriber import Subscriber, hub_client_id, read_retained
from hub.ingest.summaries import SummaryBackfill
from hub.messages import log_text

log = logging.getLogger("hub.ingest")

BATCH_MAX = 1000  # a quarter of Receive Maximum: the store commits about once per 1000 messages when behind
BATCH_WAIT_S = 0.05
SILENCE_EVERY_S = 1.0
GAPS_EVERY_S = 2.0
GAPS_BUDGET_S = 0.1  # the longest one gap sweep holds the store thread (the rest at the next)
HEARTBEAT_EVERY_S = 5.0
SUMMARIES_EVERY_S = 30.0
# After a (re)connect the silence watcher waits until the session's backlog is in, but no longer than
# this: a hub that never catches up must still notice venues that really went quiet.
SILENCE_HOLD_MAX_S = 300.0
REJECTION_LOGS_PER_MINUTE = 20  # per reason; the count is always exact, the log is bounded
RETRY_MAX_S = 30.0


class Desk(Protocol):
    """What the ingest needs of `hub.incidents.desk.IncidentDesk`."""

    def on_event(self, venue_key: str, event: Event, stored_at: datetime) -> None: ...
    def on_state(self, venue_key: str, previous: str, state: str, at: datetime) -> None: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Taken:
    """A batch taken from the queue: its summary replies, its venue traffic, and the decoding of it
    (a worker's future, or already done in this thread)."""

    replies: list[Incoming]
    batch: list[Incoming]
    future: Future[list[Decoded]] | None = None
    decoded: list[Decoded] | None = None


def _transient(exc: Exception) -> bool:
    """A database error worth retrying the same batch for (not a bug in the batch)."""
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated)


class IngestService:
    def __init__(
        self,
        settings: HubSettings,
        engine: Engine,
        inventory: Inventory,
        password: str | None,
        desk: Desk | None = None,
        clock: Callable[[], datetime] = utc_now,
    ):
        self.settings = settings
        self.hub = settings.hub
        self.engine = engine
        self.inventory = inventory
        self.password = password
        self.desk = desk
        self.clock = clock
        writer = writer_engine(engine)
        self.store = Store(writer, self.hub, clock)
        self.store.keep_snapshots = settings.snapshots.keep_selftest
        self.gaps = GapSweeper(writer, self.hub.gap_grace_s, clock)
        self.queue: queue.Queue[Incoming] = queue.Queue()
        self.counters: dict[str, int] = {}
        self._rejection_log: dict[str, tuple[int, int]] = {}  # reason → (minute, lines logged)
        self._stop_store = threading.Event()
        self._stop_snapshot = threading.Event()
        self._snapshot_lock = threading.Lock()
        self._snapshot_again = False
        self._snapshot_running = False
        self.backfill = SummaryBackfill(
            writer,
            self.store,
            self.hub.scope,
            settings.broker.topic_prefix,
            hub_client_id(settings.broker, self.hub),
            self.hub.summary_request_after_s,
            self.hub.summary_retry_s,
            clock,
        )
        self.subscriber = Subscriber(
            settings.broker,
            self.hub,
            password,
            self.queue.put,
            self._on_session,
            private_filters=(self.backfill.reply_filter,),
        )
        self.started_at = clock()
        # Set at each (re)connect and whenever a batch comes back full, cleared once one comes back short
        # with the queue empty: until then the broker is still handing over what it queued for this
        # session (while the hub was down, or faster than it stores), and a venue whose messages are
        # among them is not silent. The queue alone does not show it: Receive Maximum keeps most of a
        # backlog at the broker.
        self._catching_up_since: float | None = None
        self._snapshot_taken = False  # set once this process has read the retained state
        self._pool: ProcessPoolExecutor | None = None  # the decode workers (started by `run`)
        self._in_flight_since: datetime | None = None  # receipt time of the batch being decoded

    # -- counters ----------------------------------------------------------------------------------------
    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    def _merge(self, outcome: Outcome) -> None:
        for name, n in outcome.counts.items():
            self.count(name, n)

    # -- retained snapshot ---------------------------------------------------------------------------------
    def _on_session(self, session_present: bool) -> None:
        """After a (re)connect: hold the silence watcher until the session's backlog has been taken in,
        and read the retained state (another thread; one at a time) — unless this process has read it
        before and the broker kept its session: then every message since the disconnect is in the
        session's queue, and reading 10,000 venues' retained state again after a short blip would only
        put the hub behind (the case a loaded machine runs into: a missed keepalive, a reconnect, a
        snapshot, more lag). What the broker dropped from an overflowing queue is the broker's loss:
        events show as seq gaps, each status is replaced by the venue's next, and silence catches a
        venue whose Will was dropped."""
        self._catching_up_since = time.monotonic()
        if session_present and self._snapshot_taken:
            self.count("snapshot_skipped")
            return
        with self._snapshot_lock:
            if self._snapshot_running:
                self._snapshot_again = True
                return
            self._snapshot_running = True
        threading.Thread(target=self._snapshot_loop, name="hub-snapshot", daemon=True).start()

    def _snapshot_loop(self) -> None:
        while True:
            try:
                read = read_retained(self.settings.broker, self.hub, self.password, self.queue.put, self._stop_snapshot)
                self.count("snapshot_read", read)
                self._snapshot_taken = True
            except Exception:
                log.exception("reading the retained state failed")
            with self._snapshot_lock:
                if not self._snapshot_again or self._stop_snapshot.is_set():
                    self._snapshot_running = False
                    return
                self._snapshot_again = False

    # -- the store thread --------------------------------------------------------------------------------
    def _take_batch(self, wait: bool = True) -> list[Incoming]:
        """Up to BATCH_MAX queued messages; without `wait` only those queued now (a batch is being
        decoded meanwhile: storing it must not wait for more to arrive)."""
        try:
            first = self.queue.get(timeout=0.2) if wait else self.queue.get_nowait()
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + (BATCH_WAIT_S if wait else 0.0)
        while len(batch) < BATCH_MAX:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self.queue.get(timeout=remaining) if remaining > 0 else self.queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _log_rejection(self, rejection: Rejection) -> None:
        minute = int(time.monotonic() // 60)
        seen_minute, lines = self._rejection_log.get(rejection.reason, (minute, 0))
        if seen_minute != minute:
            lines = 0
        if lines < REJECTION_LOGS_PER_MINUTE:
            log.warning(log_text(rejection.code, **rejection.fields))
        elif lines == REJECTION_LOGS_PER_MINUTE:
            log.warning("more %s rejections this minute are counted, not logged", rejection.reason)
        self._rejection_log[rejection.reason] = (minute, lines + 1)

    # -- decoding -------------------------------------------------------------------------------------------
    def _start_pool(self) -> None:
        """The decode workers, started by `spawn` (this process has threads: paho's, the snapshot's)."""
        if self.hub.decode_workers > 0:
            self._pool = ProcessPoolExecutor(
                self.hub.decode_workers, mp_context=multiprocessing.get_context("spawn"), initializer=warm_worker
            )
            # Started and warm before the first message: a worker spawned by the first batch would add its
            # second of imports to that batch's latency (and, after a restart, to the drain of the backlog).
            warm = [self._pool.submit(decode_batch, [], "", "", 0) for _ in range(self.hub.decode_workers)]
            for future in warm:
                future.result(timeout=120)

    def _decode_here(self, batch: list[Incoming]) -> list[Decoded]:
        prefix = self.settings.broker.topic_prefix
        return [decode(m, prefix, self.hub.scope, self.hub.max_payload_bytes) for m in batch]

    def _submit(self, batch: list[Incoming]) -> _Taken:
        """Split off the summary replies and start decoding the rest (in the pool, or here and now)."""
        replies = [m for m in batch if self.backfill.is_reply(m)]
        if replies:
            batch = [m for m in batch if not self.backfill.is_reply(m)]
        taken = _Taken(replies, batch)
        if not batch:
            taken.decoded = []
        elif self._pool is not None:
            try:
                chunks = self._chunks(batch)
                futures = [
                    self._pool.submit(
                        decode_batch,
                        [(m.topic, m.payload) for m in chunk],
                        self.settings.broker.topic_prefix,
                        self.hub.scope,
                        self.hub.max_payload_bytes,
                    )
                    for chunk in chunks
                ]
                taken.future = futures[0] if len(futures) == 1 else _joined(futures)
            except Exception as exc:  # a pool already broken (BrokenProcessPool) or shut down
                self._replace_pool(exc)
                taken.decoded = self._decode_here(batch)
        else:
            taken.decoded = self._decode_here(batch)
        return taken

    def _chunks(self, batch: list[Incoming]) -> list[list[Incoming]]:
        """One chunk per worker (a batch split across them), at least 50 messages each."""
        workers = self.hub.decode_workers
        size = max(50, -(-len(batch) // workers))
        return [batch[n : n + size] for n in range(0, len(batch), size)]

    def _decoded(self, taken: _Taken) -> list[Decoded]:
        """The batch's decoding, waiting for the workers; decoded here if the pool broke meanwhile."""
        if taken.decoded is not None:
            return taken.decoded
        try:
            results = taken.future.result()  # type: ignore[union-attr]
        except Exception as exc:
            self._replace_pool(exc)
            return self._decode_here(taken.batch)
        return [attach(item, incoming) for item, incoming in zip(results, taken.batch, strict=True)]

    def _replace_pool(self, exc: Exception) -> None:
        log.error("a decode worker failed (%s): replacing the pool, decoding here meanwhile", exc)
        self.count("decode_pool_restarts")
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None
        if self._stop_store.is_set():
            return  # stopping: the rest is decoded here, no new pool to wait for
        with contextlib.suppress(Exception):
            self._start_pool()

    def _process(self, batch: list[Incoming]) -> None:
        """Decode and store one batch now (tests, and the pool-less path)."""
        self._finish(self._submit(batch))

    def _finish(self, taken: _Taken) -> None:
        """Store a taken batch: its replies, then its venue traffic in one transaction; acknowledge it."""
        if taken.replies:
            for reply in taken.replies:
                try:
                    self.backfill.take_reply(reply)
                except Exception as exc:
                    if _transient(exc):
                        return  # unacknowledged: the broker sends it again
                    log.exception("a cmd/summary reply could not be stored")
                self.subscriber.ack(reply)
            self.count("summary_replies", len(taken.replies))
        batch = taken.batch
        if not batch:
            return
        decoded = self._decoded(taken)
        self.count("received", len(batch))
        accepted = [item for item in decoded if isinstance(item, Accepted)]
        for item in decoded:
            if isinstance(item, Rejection):
                self.count("rejected")
                self.count(f"rejected.{item.reason}")
                self._log_rejection(item)
            elif isinstance(item, Ignored):
                self.count(f"ignored.{item.reason}")
        stored, outcome = self._store_with_retry(accepted)
        if not stored:
            return  # stopping while the database is away: unacknowledged, the broker redelivers later
        for item in batch:
            self.subscriber.ack(item)
        self._merge(outcome)
        self._notify(outcome)

    def _store_with_retry(self, accepted: list[Accepted]) -> tuple[bool, Outcome]:
        """(stored, outcome): stored is False only when the service stops while the database is away."""
        if not accepted:
            return True, Outcome()
        delay = 1.0
        while True:
            try:
                return True, self.store.apply(accepted)
            except Exception as exc:
                if not _transient(exc):
                    return True, self._store_one_by_one(accepted)
                log.warning(log_text("ingest.database_unavailable", error=str(exc).splitlines()[0][:200], delay=delay))
                self.count("database_retries")
                if self._stop_store.is_set():
                    return False, Outcome()
                self._stop_store.wait(delay)
                delay = min(delay * 2, RETRY_MAX_S)

    def _store_one_by_one(self, accepted: list[Accepted]) -> Outcome:
        total = Outcome()
        for item in accepted:
            try:
                outcome = self.store.apply([item])
            except Exception as exc:
                log.exception(log_text("ingest.store_failed", topic=item.incoming.topic[:120], error=str(exc)[:200]))
                self.count("store_failed")
                continue
            total.new_events.extend(outcome.new_events)
            total.transitions.extend(outcome.transitions)
            for name, n in outcome.counts.items():
                total.count(name, n)
        return total

    def _notify(self, outcome: Outcome) -> None:
        if self.desk is None:
            return
        for key, event, stored_at in outcome.new_events:
            self.desk.on_event(key, event, stored_at)
        self._notify_transitions(outcome.transitions)

    def _notify_transitions(self, transitions: list[Transition]) -> None:
        if self.desk is None:
            return
        for change in transitions:
            self.desk.on_state(change.venue_key, change.previous, change.state, change.at)

    def _periodic(self, due: dict[str, float]) -> None:
        now = time.monotonic()
        try:
            catching_up = self._catching_up_since
            holding = catching_up is not None and now - catching_up < SILENCE_HOLD_MAX_S
            if now >= due["silence"] and not holding:
                due["silence"] = now + SILENCE_EVERY_S
                outcome = self.store.sweep_silence(self._heard_until())
                self._merge(outcome)
                self._notify_transitions(outcome.transitions)
            if now >= due["gaps"]:
                due["gaps"] = now + GAPS_EVERY_S
                self.gaps.pending |= self.store.events_touched
                self.store.events_touched.clear()
                self.count("seq_gaps", self.gaps.sweep(budget_s=GAPS_BUDGET_S))
            if now >= due["summaries"] and self.subscriber.connected.is_set():
                due["summaries"] = now + min(SUMMARIES_EVERY_S, self.hub.summary_retry_s)
                self.count("summary_requests", self.backfill.ask(self.subscriber.client, self.subscriber.v5))
            if now >= due["heartbeat"]:
                due["heartbeat"] = now + HEARTBEAT_EVERY_S
                self.heartbeat()
        except Exception as exc:
            if not _transient(exc):
                log.exception("a periodic job failed")
            else:
                log.warning("a periodic job could not reach the database: %s", str(exc).splitlines()[0][:200])

    def _heard_until(self) -> datetime | None:
        """The receipt time of the oldest message not yet stored (None when nothing waits): the batch
        being decoded, else the queue's head."""
        if self._in_flight_since is not None:
            return self._in_flight_since
        with self.queue.mutex:
            return self.queue.queue[0].received_at if self.queue.queue else None

    def _store_loop(self) -> None:
        due = {"silence": 0.0, "gaps": time.monotonic() + GAPS_EVERY_S, "heartbeat": 0.0, "summaries": 0.0}
        pending: _Taken | None = None  # taken and being decoded by the pool, stored next round
        while not self._stop_store.is_set() or not self.queue.empty() or pending is not None:
            batch = self._take_batch(wait=pending is None)
            taken = self._submit(batch) if batch else None
            if pending is not None:
                self._finish(pending)
            if taken is not None and taken.future is None:
                self._finish(taken)  # decoded here already: nothing to overlap with
                taken = None
            pending = taken
            self._in_flight_since = pending.batch[0].received_at if pending is not None and pending.batch else None
            if len(batch) >= BATCH_MAX:
                if self._catching_up_since is None:  # behind: the broker holds more than the queue shows
                    self._catching_up_since = time.monotonic()
            elif self.queue.empty() and pending is None:
                self._catching_up_since = None  # the backlog is in: silence may be judged again
            if not self._stop_store.is_set():
                self._periodic(due)
        with contextlib.suppress(Exception):
            self.heartbeat()

    def heartbeat(self) -> None:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        table = HubProcess.__table__
        values: dict[str, Any] = {
            "client_id": self.subscriber.client_id,
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "scope": self.hub.scope,
            "started_at": self.started_at,
            "beat_at": self.clock(),
            "counters": dict(sorted(self.counters.items())),
        }
        insert = dialect.insert(table).values(values)
        with writer_engine(self.engine).begin() as connection:
            connection.execute(
                insert.on_conflict_do_update(
                    index_elements=[table.c.client_id],
                    set_={k: insert.excluded[k] for k in values if k != "client_id"},
                )
            )

    # -- run -----------------------------------------------------------------------------------------------
    async def run(self) -> int:
        loaded = self.store.load_inventory(self.inventory)
        log.info("inventory: %d venue(s) in scope %s", loaded, self.hub.scope)
        self.gaps.start()
        try:
            self._start_pool()
        except Exception:  # no worker processes (a locked-down host): slower, not broken
            log.exception("the decode workers did not start: decoding in the store thread")
            self._pool = None
        tune_gc()
        store_thread = threading.Thread(target=self._store_loop, name="hub-store", daemon=True)
        store_thread.start()
        self.subscriber.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        desk_task = asyncio.create_task(self.desk.run()) if self.desk is not None else None  # type: ignore[attr-defined]
        log.info(
            "venue-hub ingest running: scope %s, group %s, client %s",
            self.hub.scope,
            self.hub.group,
            self.subscriber.client_id,
        )
        await stop.wait()
        log.info("stopping: finishing the messages received, then disconnecting (the session stays)")
        self.subscriber.accepting = False
        self._stop_snapshot.set()
        self._stop_store.set()
        await asyncio.to_thread(store_thread.join, 30)
        self.subscriber.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if desk_task is not None:
            self.desk.close()  # type: ignore[union-attr]
            with contextlib.suppress(Exception):
                await asyncio.wait_for(desk_task, timeout=15)
        log.info("venue-hub stopped")
        return 0


def _joined(futures: list[Future[list[Decoded]]]) -> Future[list[Decoded]]:
    """One future for a batch decoded in chunks: the chunks' results in order, or the first failure."""
    joined: Future[list[Decoded]] = Future()
    remaining = [len(futures)]
    lock = threading.Lock()

    def done(_finished: Future[list[Decoded]]) -> None:
        with lock:
            remaining[0] -= 1
            if remaining[0] or joined.done():
                return
        try:
            joined.set_result([item for future in futures for item in future.result()])
        except Exception as exc:
            joined.set_exception(exc)

    for future in futures:
        future.add_done_callback(done)
    return joined
