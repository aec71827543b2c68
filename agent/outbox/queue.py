"""The durable outbox: every event, self-test report and metrics message is on disk before it is sent.

SQLite in WAL mode under `state_dir`. A row is deleted only after the broker's PUBACK, so a broker
outage, a network cut or a `kill -9` loses nothing: the next process sends what is left, in order.
Consumers de-duplicate by the payload's `id` (a message acked but not yet deleted is sent again).

Written policies (docs/outbox.md):
- Bound: at `max_messages`, the oldest *metrics* go first; only when no metrics are left do the
  oldest events/self-tests go. Every drop is counted once and reported (`outbox.dropped`).
- A disk that refuses writes (full, read-only, I/O error): new messages are held in memory, in
  order, bounded by `max_held` messages and `max_held_bytes` (same drop rule, counted and reported
  as `outbox.dropped_held`); they are handed to the broker directly and forgotten on PUBACK, and
  those still unacknowledged are written back in order when the disk takes writes again. The
  producers are never blocked: the agent keeps monitoring and publishing its status.
- `seq` continues past the highest ever issued, kept in a side file (agent/outbox_marks.py) where
  a lost queue file cannot take it; every bad shape of queue file is moved aside (or repaired) with
  an event saying how many queued messages were lost.

The file's schema and how a bad one is recognised: agent/outbox_file.py; the marks:
agent/outbox_marks.py. Counts are never carried across a failed write by arithmetic: after a failed COMMIT SQLite may
already have rolled back, so the queue is recounted from the file and drops made inside the failed
transaction are not counted (the rows came back).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from agent.outbox import sqlite_file as outbox_file
from agent.outbox.sqlite_file import UPSERT_MAX, BadFile, is_corrupt, transaction
from agent.outbox.marks import Marks, MarksFile

log = logging.getLogger(__name__)

HELD_MAX_MESSAGES = 10_000  # held in memory while the disk refuses writes, at most...
HELD_MAX_BYTES = 8 * 1024 * 1024  # ...and at most this much payload
RETRY_EVERY_S = 1.0  # a refusing disk is tried again this often, not at every append
NOTICE_EVERY_S = 60.0  # storage and drop notices (and their log lines): at most one a minute each
WRITE_BACK_CHUNK = 500  # held messages written back per transaction...
WRITE_BACK_PER_STEP = 2_000  # ...and per delivery step, so the event loop keeps breathing
ROW_KEY_SPAN = 1 << 40  # a row's key is generation * ROW_KEY_SPAN + row id (see _key)


class Kind(StrEnum):
    EVENT = "event"
    SELFTEST = "selftest"
    METRIC = "metric"


@dataclass(frozen=True)
class Queued:
    """A message waiting for the broker's acknowledgement; `id` is the key to acknowledge it by."""

    id: int
    kind: Kind
    topic: str
    payload: bytes
    retain: bool
    seq: int = 0


@dataclass(eq=False)
class _Message:
    ticket: int  # process-wide order of appends; a held message's key is -ticket
    kind: Kind
    seq: int
    topic: str
    payload: bytes
    retain: bool
    row_id: int | None = None  # once written to the file


class Outbox:
    """A bounded, ordered, crash-safe queue of outgoing messages. Used from one thread only."""

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
        """`defer`, when given (e.g. `loop.call_soon`), turns on group commit: appends made in one
        event-loop step share one transaction, committed by the deferred call or by `commit()`,
        which the sender calls before it reads. Without it every append is its own transaction."""
        self.path = path
        self.max_messages = max_messages
        self.max_held = max(1, min(max_held, max_messages))
        self.max_held_bytes = max_held_bytes
        self.sync = sync
        self.retry_every_s = retry_every_s
        self._dropped = {"metric": 0, "event": 0}  # committed drops (those of an open batch: _batch_drops)
        self.storage_error: str | None = None
        self.notices: list[tuple[str, dict]] = []  # (code, fields) for the agent to turn into events
        self._clock = clock
        self._defer = defer
        self._db: sqlite3.Connection | None = None
        self._marks = MarksFile(path.with_name(f"{path.name}.marks"), durable=sync == "full")
        self._marks_ok = False
        self._stored = 0  # rows in the file as last recorded (the loss if the file goes)
        self._stored_known = False  # False: no marks said how many (a lost file's loss is unknown)
        self._seq = dict.fromkeys(Kind, 0)
        self._count = 0  # committed rows in the file
        self._max_row_id = 0
        self._generation = 0  # bumped when the file is replaced while running (see _key)
        self._adopted = False
        self._created_file = False  # this process created the queue file (an empty one is then no loss)
        self._marks_read = False
        self._undeleted: set[int] = set()  # rows acknowledged whose DELETE the disk refused
        self._held: dict[int, _Message] = {}  # ticket -> message, in order
        self._held_bytes = 0
        self._held_metrics = 0
        self._tickets = itertools.count(1)
        self._last_ticket = 0
        # the open transaction (group commit or a write-back)
        self._batch: list[_Message] = []
        self._batch_rows = 0  # net change of the row count inside it
        self._batch_floor = 0  # highest row id before it
        self._batch_acked: set[int] = set()  # undeleted rows it removes
        self._batch_drops = {"metric": 0, "event": 0}
        self._write_back = False
        # delivery, in this process (rewind() starts it again for a new broker session)
        self._row_cursor = 0  # highest row id handed out
        self._held_cursor = 0  # highest ticket of a held message handed out
        self._written_handed: dict[int, int] = {}  # ticket of a handed message written back -> row id
        # trouble and its reporting
        self._retry_at = -math.inf
        self._announced = False
        self._storage_notice_at = -math.inf
        self._episode_written = 0
        self._episode_delivered = 0
        self._unreported = {"disk": {"metric": 0, "event": 0}, "held": {"metric": 0, "event": 0}}
        self._drop_notice_at = {"disk": -math.inf, "held": -math.inf}
        self._marks_warned = False

    # -- opening -------------------------------------------------------------------------------
    def open(self) -> None:
        """Open (or create) the queue file. Never raises: a bad file is moved aside or repaired, a
        disk that cannot be written leaves messages held in memory until it can (see retry_held)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._storage_failed(exc)
            return
        self._open_marks()
        try:
            self._open_file()
        except (OSError, sqlite3.Error) as exc:
            self._close_quietly()
            self._peek_seqs()
            self._storage_failed(exc)
        self._write_marks()

    def _peek_seqs(self) -> None:
        """The file cannot be opened for writing: take the seqs it holds, if it can be read at all,
        so that messages held meanwhile do not repeat them."""
        self._take_seqs(outbox_file.peek_seqs(self.path))

    def _take_seqs(self, seqs: dict[str, int]) -> None:
        for name, value in seqs.items():
            self._seq[Kind(name)] = max(value, self._seq[Kind(name)])

    def open_again(self) -> None:
        """Retry opening a queue file that could not be opened (raises on failure)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._open_file()
        except (OSError, sqlite3.Error):
            self._close_quietly()
            raise
        self._write_marks()

    def _open_marks(self) -> None:
        try:
            existed = self._marks.path.stat().st_size > 0
        except OSError:
            existed = False
        try:
            marks = self._marks.open()
        except OSError as exc:
            if not self._marks_warned:
                log.warning("outbox marks %s cannot be kept (%s); retrying", self._marks.path, exc)
                self._marks_warned = True
            marks = self._marks.peek()  # a read-only disk still tells the seqs issued
            if marks is not None:
                self._take_marks(marks, held_lost=False)
            return
        self._marks_ok = True
        first, self._marks_read = not self._marks_read, True
        if marks is None:
            if existed:
                log.warning("outbox marks %s hold no valid record; seq rests on the queue file", self._marks.path)
            return
        self._take_marks(marks, held_lost=first)

    def _take_marks(self, marks: Marks, held_lost: bool) -> None:
        for kind in Kind:
            self._seq[kind] = max(self._seq[kind], marks.seq.get(kind.value, 0))
        self._dropped["metric"] = max(self._dropped["metric"], marks.dropped_metrics)
        self._dropped["event"] = max(self._dropped["event"], marks.dropped_events)
        if not self._adopted:
            self._stored, self._stored_known = marks.stored, True
        if marks.held and held_lost:
            log.error(
                "the previous run ended with %d message(s) held in memory, on neither disk nor broker", marks.held
            )
            self.notices.append(("outbox.held_lost", {"count": marks.held}))

    def _open_file(self) -> None:
        """Open and check the file; a bad one is replaced (and said), a good one repaired and adopted."""
        empty_is_a_loss = not self._created_file and (self._stored > 0 or not self._stored_known)
        problem = outbox_file.problem_before_connect(self.path, empty_is_a_loss)
        db = None
        if problem is None:
            try:
                db = self._connect()
            except sqlite3.DatabaseError as exc:
                if not is_corrupt(exc):
                    raise
                problem = str(exc) if isinstance(exc, BadFile) else _describe(exc)
        if db is None:
            self._replace(problem or "?")
            db = self._connect()
        try:
            self._adopt(db)
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        self._created_file = self._created_file or not self.path.exists()
        return outbox_file.connect(self.path, self.sync, self._stored)

    def _replace(self, problem: str) -> None:
        """Move the bad file aside and say how many queued messages went with it (from the marks)."""
        moved = outbox_file.move_aside(self.path)
        last_seq = self._seq[Kind.EVENT]
        if self._stored_known:
            lost = self._stored
            log.error(
                "outbox %s is unusable (%s); moved to %s; %d queued message(s) lost", self.path, problem, moved, lost
            )
            self.notices.append(
                ("outbox.replaced", {"moved": str(moved), "error": problem, "lost": lost, "last_seq": last_seq})
            )
        else:
            log.error("outbox %s is unusable (%s); moved to %s; loss unknown (no marks)", self.path, problem, moved)
            self.notices.append(
                ("outbox.replaced_unknown_loss", {"moved": str(moved), "error": problem, "last_seq": last_seq})
            )
        self._stored, self._stored_known = 0, True
        self._count = self._max_row_id = 0
        self._created_file = True
        self._undeleted.clear()
        self._written_handed.clear()
        if self._adopted:  # keys of rows in the old file must not delete rows of the new one
            self._generation += 1
            self._row_cursor = 0

    def _adopt(self, db: sqlite3.Connection) -> None:
        """Take a checked file: repair what can be repaired, read counts and seqs (the file's and the
        marks' highest win), and only then make it the queue."""
        state = outbox_file.repair_and_read(db)
        if state.removed_rows or state.removed_counters:
            log.error(
                "outbox %s repaired: %d malformed row(s) removed, %d bad counter(s)",
                self.path,
                state.removed_rows,
                state.removed_counters,
            )
            self.notices.append(("outbox.repaired", {"rows": state.removed_rows, "counters": state.removed_counters}))
        self._count = state.count
        self._take_seqs(state.seqs)
        for word, total in state.dropped.items():
            self._dropped[word] = max(self._dropped[word], total)
        self._max_row_id = max(self._max_row_id, state.max_row_id)
        self._db, self._adopted = db, True
        self._stored, self._stored_known = self._count, True

    def _close_quietly(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
        self._db = None
        self._batch, self._batch_rows, self._batch_acked = [], 0, set()

    def close(self) -> None:
        self.commit()
        if self._held:
            log.error(
                "outbox %s: stopping with %d message(s) held in memory, on neither disk nor broker; they are lost",
                self.path,
                len(self._held),
            )
        self._write_marks()
        self._close_quietly()
        self._marks.close()
        self._marks_ok = False

    # -- writing ------------------------------------------------------------------------------
    def append(self, kind: Kind, topic: str, make_payload: Callable[[int], bytes], retain: bool = False) -> int:
        """Queue one message; `make_payload(seq)` builds it with its gap-free per-kind sequence number.

        Returns the sequence number. Never raises for storage trouble: the message is then held
        in memory (and sent from there) and written when the disk accepts writes again.
        """
        seq = self._seq[kind] + 1
        self._seq[kind] = seq
        message = _Message(self._take_ticket(), kind, seq, topic, make_payload(seq), retain)
        if self._held or self._db is None:  # behind what is held, to keep the order
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

    def _take_ticket(self) -> int:
        self._last_ticket = next(self._tickets)
        return self._last_ticket

    def _insert(self, message: _Message) -> None:
        """One INSERT into the open transaction (opened here if need be), keeping the bound."""
        db = self._require_db()
        if not db.in_transaction:
            db.execute("BEGIN IMMEDIATE")
            self._batch_floor = self._max_row_id
            if self._defer is not None and not self._write_back:
                self._defer(self.commit)
        cursor = db.execute(
            "INSERT INTO outbox(kind, seq, topic, payload, retain, created) VALUES (?, ?, ?, ?, ?, ?)",
            (message.kind.value, message.seq, message.topic, message.payload, int(message.retain), time.time()),
        )
        message.row_id = cursor.lastrowid
        self._max_row_id = max(self._max_row_id, message.row_id or 0)
        self._batch.append(message)
        self._batch_rows += 1
        excess = self._count + self._batch_rows - self.max_messages
        if excess > 0:
            self._drop_oldest(db, excess)

    def commit(self) -> bool:
        """End the open transaction; if the disk refuses (False), its messages are held in memory."""
        db = self._db
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
        self._count += self._batch_rows
        self._undeleted -= self._batch_acked
        for word, count in self._batch_drops.items():
            if count:
                self._count_drop("disk", word, count)
        if self._write_back:
            for message in self._batch:
                self._forget_held(message)
                if message.ticket <= self._held_cursor and message.row_id is not None:
                    # handed to the broker from memory: its ack now deletes the row, and the
                    # cursor passes it so that it is not handed out a second time
                    self._written_handed[message.ticket] = message.row_id
                    self._row_cursor = max(self._row_cursor, message.row_id)
            self._episode_written += len(self._batch)
        self._clear_batch()
        self._write_marks()
        self._storage_ok()

    def _abort_batch(self, exc: sqlite3.Error, also: list[_Message] | None = None) -> bool:
        """After a failed write: roll back, recount from the file, hold the batch's messages (oldest
        first) — unless the commit reached the file after all, which the row ids tell."""
        db = self._db
        committed = False
        if db is not None:
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            with contextlib.suppress(sqlite3.Error):
                committed = bool(self._batch) and bool(
                    db.execute("SELECT 1 FROM outbox WHERE id > ? LIMIT 1", (self._batch_floor,)).fetchone()
                )
        if committed:
            self._recount()
            self._batch_rows = 0
            self._batch_done()
        else:
            self._recount()
            self._max_row_id = self._batch_floor  # the rolled-back ids will be given again
            batch = [] if self._write_back else self._batch
            for message in self._batch:
                message.row_id = None
            self._clear_batch()
            self._hold(batch + (also or []))
        self._storage_failed(exc)
        if also and committed:
            self._hold(also)
        return committed

    def _clear_batch(self) -> None:
        self._batch, self._batch_rows, self._batch_acked = [], 0, set()
        self._batch_drops = {"metric": 0, "event": 0}
        self._write_back = False

    def _recount(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._count = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]

    def _drop_oldest(self, db: sqlite3.Connection, excess: int) -> None:
        """Make room: rows already acknowledged go first (no loss), then the policy's oldest."""
        acked = sorted(self._undeleted - self._batch_acked)
        if acked:
            removed = _delete_ids(db, acked, remember=True)
            self._batch_acked.update(acked)
            self._batch_rows -= removed
            excess -= removed
            if excess <= 0:
                return
        _remember_seqs(
            db,
            "SELECT 'seq:' || kind, MAX(seq) FROM (SELECT kind, seq FROM outbox ORDER BY id LIMIT ?) GROUP BY kind",
            (excess,),
        )
        metrics = db.execute(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE kind = ? ORDER BY id LIMIT ?)",
            (Kind.METRIC.value, excess),
        ).rowcount
        others = 0
        if metrics < excess:
            others = db.execute(
                "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)", (excess - metrics,)
            ).rowcount
        self._batch_rows -= metrics + others
        self._batch_drops["metric"] += metrics
        self._batch_drops["event"] += others
        db.executemany(
            UPSERT_MAX,
            [
                ("dropped:metric", self.dropped_metrics),
                ("dropped:event", self.dropped_events),
            ],
        )

    # -- holding in memory ---------------------------------------------------------------------
    def _hold(self, messages: list[_Message]) -> None:
        for message in messages:
            self._held[message.ticket] = message
            self._held_bytes += len(message.payload)
            self._held_metrics += message.kind is Kind.METRIC
        while len(self._held) > self.max_held or (self._held_bytes > self.max_held_bytes and len(self._held) > 1):
            victim = self._oldest_unhanded(Kind.METRIC) if self._held_metrics else None
            victim = victim or self._oldest_unhanded(None)
            if victim is None:
                break
            self._forget_held(victim)
            self._count_drop("held", "metric" if victim.kind is Kind.METRIC else "event", 1)
        self._write_marks()  # before any of them is handed out: their seqs must outlive this process

    def _oldest_unhanded(self, kind: Kind | None) -> _Message | None:
        """The oldest held message not yet handed to the broker (what is in flight is not dropped:
        the broker may still take it)."""
        for ticket, message in self._held.items():
            if ticket > self._held_cursor and (kind is None or message.kind is kind):
                return message
        return None

    def _forget_held(self, message: _Message) -> None:
        if self._held.pop(message.ticket, None) is not None:
            self._held_bytes -= len(message.payload)
            self._held_metrics -= message.kind is Kind.METRIC

    def _count_drop(self, where: str, word: str, count: int) -> None:
        """Count once; the notice and the log line come from take_notices, at most one a minute."""
        self._dropped[word] += count
        self._unreported[where][word] += count

    # -- trouble -------------------------------------------------------------------------------
    def _storage_failed(self, exc: BaseException) -> None:
        self.storage_error = _describe(exc)
        self._retry_at = self._clock() + self.retry_every_s
        if isinstance(exc, sqlite3.DatabaseError) and is_corrupt(exc) and self._db is not None:
            log.error("outbox %s is damaged (%s); it is checked and replaced at the next retry", self.path, exc)
            self._close_quietly()
        self._announce_storage_error()

    def _announce_storage_error(self) -> None:
        """One notice (and one log line) per episode of trouble, and at most one a minute."""
        now = self._clock()
        if self.storage_error is None or self._announced or now - self._storage_notice_at < NOTICE_EVERY_S:
            return
        self._announced, self._storage_notice_at = True, now
        log.error(
            "outbox %s: cannot write (%s); holding %d message(s) in memory and sending them from there",
            self.path,
            self.storage_error,
            len(self._held),
        )
        self.notices.append(("outbox.storage_error", {"held": len(self._held), "error": self.storage_error}))

    def _storage_ok(self) -> None:
        """After a write that worked: the episode ends once nothing is held or waiting to be deleted."""
        if self.storage_error is None or self._held or self._undeleted or self._db is None:
            return
        if self._announced:
            log.info(
                "outbox %s: writes work again; %d held message(s) written back, %d delivered from memory",
                self.path,
                self._episode_written,
                self._episode_delivered,
            )
            self.notices.append(
                ("outbox.storage_recovered", {"count": self._episode_written, "delivered": self._episode_delivered})
            )
        self.storage_error = None
        self._announced = False
        self._episode_written = self._episode_delivered = 0
        self._retry_at = -math.inf

    @property
    def needs_retry(self) -> bool:
        return bool(self._held or self._undeleted or self.storage_error) or self._db is None or not self._marks_ok

    def retry_held(self) -> None:
        """Write back what is held (oldest first), delete what was acknowledged, reopen a file that
        could not be opened — at most once every `retry_every_s` while the disk keeps refusing, and
        at most WRITE_BACK_PER_STEP messages per call."""
        if not self.needs_retry or self._clock() < self._retry_at:
            return
        self._retry_at = self._clock() + self.retry_every_s
        if not self._marks_ok:
            self._open_marks()
            self._write_marks()
        if self._db is None:
            try:
                self.open_again()
            except (OSError, sqlite3.Error) as exc:
                self._storage_failed(exc)
                return
        if not self.commit():
            return
        if self._undeleted:
            self._delete_rows([])
            if self._undeleted:
                return
        if not self._held and self.storage_error is not None:
            self._probe()
            return
        written = 0
        while self._held and written < WRITE_BACK_PER_STEP and self._db is not None:
            chunk = list(itertools.islice(self._held.values(), WRITE_BACK_CHUNK))
            self._write_back = True
            try:
                for message in chunk:
                    self._insert(message)
            except sqlite3.Error as exc:
                self._abort_batch(exc)
                return
            if not self.commit():
                return
            written += len(chunk)
        if self._held:
            self._retry_at = -math.inf  # more to write: the next delivery step goes on

    def _probe(self) -> None:
        """Nothing held, but the last write failed: does the disk take a write now?"""
        db = self._require_db()
        try:
            with transaction(db):
                db.execute(UPSERT_MAX, ("probe", time.time_ns()))
        except sqlite3.Error as exc:
            self._storage_failed(exc)
            return
        self._storage_ok()

    # -- reading and acknowledging -------------------------------------------------------------
    def after(self, last_id: int, limit: int) -> list[Queued]:
        """Up to `limit` rows of the file with id > last_id, oldest first (committed first)."""
        self.commit()
        try:
            rows = self._rows_after(last_id, limit)
        except sqlite3.Error as exc:
            self._storage_failed(exc)
            return []
        return [self._queued_row(row) for row in rows]

    def next_to_send(self, limit: int) -> list[Queued]:
        """The next messages not yet handed out in this broker session, in order: rows of the file,
        then — once every row is out — messages held in memory. Each is handed out once
        (see rewind)."""
        self.commit()
        out: list[Queued] = []
        while self._db is not None:
            want = limit - len(out)
            try:
                rows = self._rows_after(self._row_cursor, want)
            except sqlite3.Error as exc:
                self._storage_failed(exc)
                return out  # rows may wait unread: held messages must not overtake them
            if rows:
                self._row_cursor = rows[-1][0]
            # rows acknowledged whose DELETE was refused are passed over, and do not use up the room
            out += [self._queued_row(row) for row in rows if row[0] not in self._undeleted]
            if len(rows) < want:
                break  # every row is out: held messages may follow
            if len(out) >= limit:
                return out
        if self._held and self._last_ticket > self._held_cursor:
            for ticket, message in self._held.items():
                if ticket <= self._held_cursor:
                    continue
                out.append(Queued(-ticket, message.kind, message.topic, message.payload, message.retain, message.seq))
                self._held_cursor = ticket
                if len(out) >= limit:
                    break
        return out

    def held_messages(self) -> list[Queued]:
        """What is held in memory, oldest first, for inspection (handing out is next_to_send's)."""
        return [Queued(-m.ticket, m.kind, m.topic, m.payload, m.retain, m.seq) for m in self._held.values()]

    def rewind(self) -> None:
        """A new broker session: hand everything not yet acknowledged out again (from the start)."""
        self._row_cursor = self._held_cursor = 0
        self._written_handed.clear()

    def _rows_after(self, last_id: int, limit: int) -> list[tuple]:
        return (
            self._require_db()
            .execute(
                "SELECT id, kind, topic, payload, retain, seq FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
                (last_id, limit),
            )
            .fetchall()
        )

    def _queued_row(self, row: tuple) -> Queued:
        return Queued(self._key(row[0]), Kind(row[1]), row[2], bytes(row[3]), bool(row[4]), row[5])

    def _key(self, row_id: int) -> int:
        """Row ids restart in a replacing file; the generation keeps an old row's late PUBACK from
        deleting a new row with the same id."""
        return self._generation * ROW_KEY_SPAN + row_id

    def delete(self, keys: list[int]) -> None:
        """Forget acknowledged messages: rows are deleted, held messages dropped from memory."""
        if not keys:
            return
        rows = []
        for key in keys:
            if key < 0:
                message = self._held.get(-key)
                if message is not None:
                    self._forget_held(message)
                    self._episode_delivered += 1
                elif (row := self._written_handed.pop(-key, None)) is not None:
                    rows.append(row)
            else:
                generation, row = divmod(key, ROW_KEY_SPAN)
                if generation == self._generation:
                    rows.append(row)
        self._delete_rows(rows)
        self._write_marks()

    def _delete_rows(self, rows: list[int]) -> None:
        ids = sorted(self._undeleted.union(rows))
        if not ids:
            return
        if self._db is None:
            self._undeleted.update(ids)
            return
        self.commit()
        db = self._db
        if db is None:
            self._undeleted.update(ids)
            return
        try:
            with transaction(db):
                deleted = _delete_ids(db, ids, remember=True)
        except sqlite3.Error as exc:
            self._undeleted.update(ids)
            self._recount()
            self._storage_failed(exc)
            return
        self._count -= deleted
        self._undeleted.clear()
        self._storage_ok()

    # -- state -----------------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Messages not yet acknowledged by the broker: rows of the file and messages held."""
        return max(0, self._count + self._batch_rows - len(self._undeleted)) + len(self._held)

    @property
    def held(self) -> int:
        return len(self._held)

    @property
    def deletes_pending(self) -> int:
        """Rows the broker acknowledged whose DELETE the disk refused (retried; not sent again)."""
        return len(self._undeleted)

    @property
    def dropped_metrics(self) -> int:
        """Metrics dropped by the bounds, ever (kept across restarts and a replaced file)."""
        return self._dropped["metric"] + self._batch_drops["metric"]

    @property
    def dropped_events(self) -> int:
        """Events and self-test reports dropped by the bounds, ever."""
        return self._dropped["event"] + self._batch_drops["event"]

    def take_notices(self) -> list[tuple[str, dict]]:
        """The notices due (storage trouble, drops — each at most once a minute, with counts since)."""
        self._announce_storage_error()
        now = self._clock()
        for where, code in (("disk", "outbox.dropped"), ("held", "outbox.dropped_held")):
            counts = self._unreported[where]
            if not any(counts.values()) or now - self._drop_notice_at[where] < NOTICE_EVERY_S:
                continue
            self._drop_notice_at[where] = now
            for word, count in counts.items():
                if not count:
                    continue
                total = self.dropped_metrics if word == "metric" else self.dropped_events
                limit = self.max_messages if where == "disk" else self.max_held
                log.warning(
                    "outbox full (%s, %d): dropped %d oldest %s message(s), %d in total",
                    where,
                    limit,
                    count,
                    word,
                    total,
                )
                fields = {"kind": f"{word}s", "count": count, "total": total, "limit": limit}
                if where == "held":
                    fields["limit_mb"] = round(self.max_held_bytes / 1024 / 1024, 1)
                self.notices.append((code, fields))
                counts[word] = 0
        notices, self.notices = self.notices, []
        return notices

    def _write_marks(self) -> None:
        if not self._marks_ok:
            return
        if self._db is not None:
            self._stored = self._count
        marks = Marks(
            {kind.value: value for kind, value in self._seq.items()},
            self.dropped_metrics,
            self.dropped_events,
            self._stored,
            len(self._held),
        )
        try:
            self._marks.write(marks)
        except OSError as exc:
            log.error("outbox marks %s cannot be written (%s); retrying", self._marks.path, exc)
            self._marks.close()
            self._marks_ok = False

    def _require_db(self) -> sqlite3.Connection:
        if self._db is None:
            raise sqlite3.OperationalError("outbox is not open")
        return self._db


GROUP_COMMIT_S = 0.002


def commit_soon_on_running_loop(commit: Callable[[], None]) -> None:
    """The `defer` the daemon uses: commit the batch GROUP_COMMIT_S after its first append.

    Events raised within those 2 ms share one transaction (one WAL write instead of one each);
    the sender commits before it reads, so nothing is ever published before it is on disk.
    """
    asyncio.get_running_loop().call_later(GROUP_COMMIT_S, commit)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _delete_ids(db: sqlite3.Connection, ids: list[int], remember: bool = False) -> int:
    deleted = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        if remember:  # keep the highest seq of rows that go, so seqs are never reused
            _remember_seqs(
                db, f"SELECT 'seq:' || kind, MAX(seq) FROM outbox WHERE id IN ({marks}) GROUP BY kind", tuple(chunk)
            )
        deleted += db.execute(f"DELETE FROM outbox WHERE id IN ({marks})", chunk).rowcount
    return deleted


def _remember_seqs(db: sqlite3.Connection, query: str, args: tuple) -> None:
    db.executemany(UPSERT_MAX, db.execute(query, args).fetchall())
