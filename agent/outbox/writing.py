"""The outbox's writing side: appending with `seq`, keeping the bound, committing — and holding in
memory what the disk refuses. `Outbox` (queue.py) adds the rest: opening and closing, handing out,
acknowledging, retrying.

It ties the rooms of the package together: the file (store.py, rows.py), the marks (marks.py),
messages held in memory (held.py), the open transaction (group_commit.py), and what is said about
drops and storage trouble (notices.py). The written policies are in docs/outbox.md.

Why counts are never carried across a failed write by arithmetic: after a failed COMMIT SQLite may
already have rolled back, so the queue is recounted from the file, and drops made inside the failed
transaction are not counted (the rows came back).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from agent.outbox import rows
from agent.outbox.group_commit import Batch
from agent.outbox.held import HELD_MAX_BYTES, HELD_MAX_MESSAGES, Held
from agent.outbox.marks import KeptMarks, Marks
from agent.outbox.message import Kind, Message, drop_word
from agent.outbox.notices import Drops, StorageEpisode
from agent.outbox.sqlite_file import describe, is_corrupt
from agent.outbox.store import Store

log = logging.getLogger(__name__)

RETRY_EVERY_S = 1.0  # a refusing disk is tried again this often, not at every append


class Writing:
    """The outbox's state (all of it declared here) and everything that writes it. Used from one
    thread only; `Outbox` is the class to use."""

    def __init__(
        self,
        path: Path,
        max_messages: int = 100_000,
        sync: str = "normal",
        defer: Callable[[Callable[[], None]], None] | None = None,
        *,
        max_held: int = HELD_MAX_MESSAGES,
        max_held_bytes: int = HELD_MAX_BYTES,
        retry_every_s: float = RETRY_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        """`defer`, when given (the daemon gives commit_soon_on_running_loop; a test may give
        `loop.call_soon`), turns on group commit: the appends made until the deferred call share one
        transaction, committed by it or by `commit()`, which the sender calls before it reads.
        Without it every append is its own transaction."""
        self.path = path
        self.max_messages = max_messages
        self.max_held = max(1, min(max_held, max_messages))
        self.max_held_bytes = max_held_bytes
        self.sync = sync
        self.retry_every_s = retry_every_s
        self.notices: list[tuple[str, dict]] = []  # (code, fields) for the agent to turn into events
        self._clock = clock
        self._defer = defer
        self._store = Store(path, sync, self.notices, on_replace=self._file_replaced)
        self._marks = KeptMarks(path.with_name(f"{path.name}.marks"), durable=sync == "full")
        self._held = Held(self.max_held, max_held_bytes)
        self._drops = Drops(clock)
        self._episode = StorageEpisode(path, self.notices, clock)
        self._batch = Batch()
        self._seq = dict.fromkeys(Kind, 0)
        self._tickets = itertools.count(1)
        self._undeleted: set[int] = set()  # rows acknowledged whose DELETE the disk refused
        # delivery, in this process (rewind() starts it again for a new broker session)
        self._row_cursor = 0  # highest row id handed out
        self._written_handed: dict[int, int] = {}  # ticket of a handed message written back -> row id
        self._retry_at = -math.inf

    # -- the file ----------------------------------------------------------------------------------
    def _file_replaced(self) -> None:
        """Acknowledgements and cursors of the old file's rows mean nothing in the new one."""
        self._undeleted.clear()
        self._written_handed.clear()
        self._row_cursor = 0

    def _close_quietly(self) -> None:
        self._store.close_quietly()
        self._clear_batch()

    # -- writing -----------------------------------------------------------------------------------
    def append(self, kind: Kind, topic: str, make_payload: Callable[[int], bytes], retain: bool = False) -> int:
        """Queue one message; `make_payload(seq)` builds it with its gap-free per-kind sequence number.

        Returns the sequence number. Never raises for storage trouble: the message is then held
        in memory (and sent from there) and written when the disk accepts writes again.
        """
        seq = self._seq[kind] + 1
        self._seq[kind] = seq
        message = Message(next(self._tickets), kind, seq, topic, make_payload(seq), retain)
        if self._held or self._store.db is None:  # behind what is held, to keep the order
            self._hold([message])
            return seq
        try:
            self._insert(message)
        except sqlite3.Error as exc:
            self._abort_batch(exc, also=[message])
            return seq
        if self._defer is None:
            self.commit()
        return seq

    def _insert(self, message: Message) -> None:
        """One INSERT into the open transaction (opened here if need be), keeping the bound."""
        store, batch = self._store, self._batch
        db = store.require()
        if not db.in_transaction:
            batch.floor = store.max_row_id  # first: a BEGIN that fails must not leave the previous floor
            db.execute("BEGIN IMMEDIATE")
            if self._defer is not None and not batch.write_back:
                self._defer(self.commit)
        message.row_id = rows.insert(db, message)
        store.max_row_id = max(store.max_row_id, message.row_id or 0)
        batch.messages.append(message)
        batch.rows += 1
        excess = store.count + batch.rows - self.max_messages
        if excess > 0:
            self._drop_oldest(db, excess)

    def _drop_oldest(self, db: sqlite3.Connection, excess: int) -> None:
        """Make room: rows already acknowledged go first (no loss), then the policy's oldest."""
        batch = self._batch
        acked = sorted(self._undeleted - batch.acked)
        if acked:
            removed = rows.delete(db, acked)
            batch.acked.update(acked)
            batch.rows -= removed
            excess -= removed
            if excess <= 0:
                return
        metrics, others = rows.drop_oldest(db, excess)
        batch.rows -= metrics + others
        self._drops.in_batch("metric", metrics)
        self._drops.in_batch("event", others)
        rows.record_dropped(db, self.dropped_metrics, self.dropped_events)

    def commit(self) -> bool:
        """End the open transaction; if the disk refuses (False), its messages are held in memory."""
        db = self._store.db
        if db is None or not db.in_transaction:
            return True
        try:
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            return self._abort_batch(exc)
        self._batch_done()
        return True

    def _batch_done(self) -> None:
        """The transaction is in the file: now (not before) its rows and drops count."""
        batch = self._batch
        self._store.count += batch.rows
        self._undeleted -= batch.acked
        self._drops.batch_committed()
        if batch.write_back:
            for message in batch.messages:
                self._held.forget(message)
                if message.ticket <= self._held.handed and message.row_id is not None:
                    # handed to the broker from memory: its ack now deletes the row, and the
                    # cursor passes it so that it is not handed out a second time
                    self._written_handed[message.ticket] = message.row_id
                    self._row_cursor = max(self._row_cursor, message.row_id)
            self._episode.written += len(batch.messages)
        self._clear_batch()
        self._write_marks()
        self._storage_ok()

    def _abort_batch(self, exc: sqlite3.Error, also: list[Message] | None = None) -> bool:
        """After a failed write: roll back, recount from the file, hold the batch's messages (oldest
        first) — unless the commit reached the file after all, which the row ids tell."""
        store, batch = self._store, self._batch
        committed = False
        if store.db is not None:
            if store.db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    store.db.execute("ROLLBACK")
            with contextlib.suppress(sqlite3.Error):
                committed = bool(batch.messages) and rows.any_after(store.db, batch.floor)
        store.recount()
        if committed:
            batch.rows = 0
            self._batch_done()
        else:
            store.max_row_id = batch.floor  # the rolled-back ids will be given again
            lost_batch = [] if batch.write_back else batch.messages  # a write-back's are still held
            for message in batch.messages:
                message.row_id = None
            self._clear_batch()
            self._hold(lost_batch + (also or []))
        self._storage_failed(exc)
        if also and committed:
            self._hold(also)
        return committed

    def _clear_batch(self) -> None:
        self._batch.clear()
        self._drops.batch_discarded()

    def _hold(self, messages: list[Message]) -> None:
        for victim in self._held.add(messages):
            self._drops.count("held", drop_word(victim.kind), 1)
        self._write_marks()  # before any of them is handed out: their seqs must outlive this process

    # -- trouble -----------------------------------------------------------------------------------
    def _storage_failed(self, exc: BaseException) -> None:
        self._retry_at = self._clock() + self.retry_every_s
        if isinstance(exc, sqlite3.DatabaseError) and is_corrupt(exc) and self._store.db is not None:
            log.error("outbox %s is damaged (%s); it is checked and replaced at the next retry", self.path, exc)
            self._close_quietly()
        self._episode.failed(describe(exc), len(self._held))

    def _storage_ok(self) -> None:
        """After a write that worked: the episode ends once nothing is held or waiting to be deleted."""
        if self._episode.error is None or self._held or self._undeleted or self._store.db is None:
            return
        self._episode.ended()
        self._retry_at = -math.inf

    def _write_marks(self) -> None:
        if not self._marks.ok:
            return
        if self._store.db is not None:
            self._store.stored = self._store.count
        self._marks.write(
            Marks(
                {kind.value: value for kind, value in self._seq.items()},
                self.dropped_metrics,
                self.dropped_events,
                self._store.stored,
                len(self._held),
            )
        )

    @property
    def dropped_metrics(self) -> int:
        """Metrics dropped by the bounds, ever (kept across restarts and a replaced file)."""
        return self._drops.total("metric")

    @property
    def dropped_events(self) -> int:
        """Events and self-test reports dropped by the bounds, ever."""
        return self._drops.total("event")
