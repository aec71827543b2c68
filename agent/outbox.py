"""The durable outbox: every event, self-test report and metrics message is on disk before it is sent.

SQLite in WAL mode under `state_dir`. A row is deleted only after the broker's PUBACK, so a broker
outage, a network cut or a `kill -9` loses nothing: the next process sends what is left, in order.
Consumers de-duplicate by the payload's `id` (a message acked but not yet deleted is sent again).

Bounding policy (docs/outbox.md): at `max_messages`, the oldest *metrics* go first; only when no
metrics are left are the oldest events/self-tests dropped, and every drop is counted in the status
and reported by an `outbox.dropped` event. A disk that refuses writes keeps new messages in memory
(bounded the same way) and retries; a corrupt file is moved aside and a fresh one started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    seq INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    retain INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
PRAGMA user_version = 1;
"""


class Kind(StrEnum):
    EVENT = "event"
    SELFTEST = "selftest"
    METRIC = "metric"


@dataclass(frozen=True)
class Queued:
    """A message waiting for the broker's acknowledgement."""

    id: int
    kind: Kind
    topic: str
    payload: bytes
    retain: bool


@dataclass
class _Held:
    kind: Kind
    seq: int
    topic: str
    payload: bytes
    retain: bool


class Outbox:
    """A bounded, ordered, crash-safe queue of outgoing messages. Used from one thread only."""

    def __init__(
        self,
        path: Path,
        max_messages: int = 100_000,
        sync: str = "normal",
        defer: Callable[[Callable[[], None]], None] | None = None,
    ):
        """`defer`, when given (e.g. `loop.call_soon`), turns on group commit: appends made in one
        event-loop step share one transaction, committed by the deferred call or by `commit()`,
        which the sender calls before it reads. Without it every append is its own transaction."""
        self.path = path
        self.max_messages = max_messages
        self.sync = sync
        self.dropped_metrics = 0
        self.dropped_events = 0
        self.storage_error: str | None = None
        self.notices: list[tuple[str, dict]] = []  # (code, fields) for the agent to turn into events
        self._held: list[_Held] = []
        self._defer = defer
        self._batch: list[_Held] = []  # appended in the open group-commit transaction
        self._seq: dict[str, int] = {}
        self._count = 0
        self._db: sqlite3.Connection | None = None

    # -- opening -------------------------------------------------------------------------------
    def open(self) -> None:
        """Open (or create) the queue file; a corrupt one is moved aside and started afresh."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._connect()
        except (OSError, sqlite3.OperationalError) as exc:
            # Cannot open at all (permissions, missing disk): keep running from memory.
            self._close_quietly()
            self._storage_failed(sqlite3.OperationalError(f"{self.path}: {exc}"))
            return
        except sqlite3.DatabaseError as exc:
            moved = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            self._close_quietly()
            for suffix in ("", "-wal", "-shm"):
                source = Path(f"{self.path}{suffix}")
                if source.exists():
                    source.rename(Path(f"{moved}{suffix}"))
            log.error("outbox %s is corrupt (%s); moved to %s", self.path, exc, moved)
            self.notices.append(("outbox.corrupt_replaced", {"moved": str(moved), "error": str(exc)}))
            self._connect()

    def _connect(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None, timeout=5)
        self._db = db
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={'FULL' if self.sync == 'full' else 'NORMAL'}")
        check = db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise sqlite3.DatabaseError(f"quick_check: {check}")
        db.executescript(_SCHEMA)
        self._count = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        # The next seq continues from the highest ever given: rows still queued carry theirs, and
        # the counters keep the highest of rows already deleted.
        stored = db.execute("SELECT name, value FROM counters WHERE name LIKE 'seq:%'").fetchall()
        stored += db.execute("SELECT 'seq:' || kind, MAX(seq) FROM outbox GROUP BY kind").fetchall()
        for name, value in stored:
            self._seq[name] = max(value, self._seq.get(name, 0))
        counters = dict(db.execute("SELECT name, value FROM counters").fetchall())
        self.dropped_metrics = counters.get("dropped:metric", 0)
        self.dropped_events = counters.get("dropped:event", 0)

    def open_again(self) -> None:
        """Retry opening a queue file that could not be opened at start (raises on failure)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._connect()
        except (OSError, sqlite3.Error):
            self._close_quietly()
            raise

    def _close_quietly(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
        self._db = None

    def close(self) -> None:
        self.commit()
        self._close_quietly()

    # -- writing ------------------------------------------------------------------------------
    def append(self, kind: Kind, topic: str, make_payload: Callable[[int], bytes], retain: bool = False) -> int:
        """Queue one message; `make_payload(seq)` builds it with its gap-free per-kind sequence number.

        Returns the sequence number. Never raises for storage trouble: the message is then held
        in memory and written when the disk accepts writes again.
        """
        seq = self._seq.get(f"seq:{kind}", 0) + 1
        self._seq[f"seq:{kind}"] = seq
        payload = make_payload(seq)
        if self._held:
            self._held.append(_Held(kind, seq, topic, payload, retain))
            self._bound_held()
            self.retry_held()
            return seq
        try:
            self._insert(kind, topic, payload, retain, seq)
        except sqlite3.Error as exc:
            self._held.append(_Held(kind, seq, topic, payload, retain))
            self._storage_failed(exc)
        return seq

    def _insert(self, kind: Kind, topic: str, payload: bytes, retain: bool, seq: int) -> None:
        """One INSERT: its own transaction, or part of the open group-commit batch."""
        db = self._require_db()
        if self._defer is not None and not db.in_transaction:
            db.execute("BEGIN IMMEDIATE")
            self._defer(self.commit)
        try:
            db.execute(
                "INSERT INTO outbox(kind, seq, topic, payload, retain, created) VALUES (?, ?, ?, ?, ?, ?)",
                (kind.value, seq, topic, payload, int(retain), time.time()),
            )
        except sqlite3.Error:
            self._abort_batch()
            raise
        if db.in_transaction:
            self._batch.append(_Held(kind, seq, topic, payload, retain))
        self._count += 1
        if self._count > self.max_messages:
            with _transaction(db):
                self._remember_seqs_of_oldest(db, self._count - self.max_messages)
                self._drop_oldest(db, self._count - self.max_messages)

    def commit(self) -> None:
        """End the group-commit batch; if the disk refuses, its messages are held in memory."""
        if self._db is None or not self._db.in_transaction:
            return
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._abort_batch()
            self._storage_failed(exc)
            return
        self._batch = []

    def _abort_batch(self) -> None:
        """Roll the open batch back and hold its messages, oldest first, ahead of anything held."""
        if self._db is not None and self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            with contextlib.suppress(sqlite3.Error):
                self._count = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        self._held[:0] = self._batch
        self._batch = []

    def _drop_oldest(self, db: sqlite3.Connection, excess: int) -> None:
        metrics = db.execute(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE kind = ? ORDER BY id LIMIT ?)",
            (Kind.METRIC.value, excess),
        ).rowcount
        others = 0
        if metrics < excess:
            others = db.execute(
                "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)",
                (excess - metrics,),
            ).rowcount
        self._count -= metrics + others
        self._count_drops(db, metrics, others)

    def _count_drops(self, db: sqlite3.Connection | None, metrics: int, others: int) -> None:
        for kind, count in (("metric", metrics), ("event", others)):
            if not count:
                continue
            if kind == "metric":
                self.dropped_metrics += count
            else:
                self.dropped_events += count
            total = self.dropped_metrics if kind == "metric" else self.dropped_events
            if db is not None:
                db.execute(
                    "INSERT INTO counters(name, value) VALUES (?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                    (f"dropped:{kind}", total),
                )
            log.warning("outbox full: dropped %d oldest %s message(s), %d in total", count, kind, total)
            self.notices.append(
                ("outbox.dropped", {"kind": f"{kind}s", "count": count, "total": total, "limit": self.max_messages})
            )

    def _bound_held(self) -> None:
        excess = len(self._held) - self.max_messages
        if excess <= 0:
            return
        metric_positions = [i for i, held in enumerate(self._held) if held.kind is Kind.METRIC][:excess]
        for position in reversed(metric_positions):
            del self._held[position]
        others = max(0, len(self._held) - self.max_messages)
        del self._held[:others]
        self._count_drops(None, len(metric_positions), others)

    def _storage_failed(self, exc: sqlite3.Error) -> None:
        first = self.storage_error is None
        self.storage_error = f"{type(exc).__name__}: {exc}"
        if first:
            log.error("outbox %s: cannot write (%s); holding messages in memory", self.path, exc)
            self.notices.append(("outbox.storage_error", {"held": len(self._held), "error": self.storage_error}))

    def retry_held(self) -> None:
        """Write messages held in memory to disk, oldest first, as far as the disk allows."""
        if self._db is None:
            try:
                self.open_again()
            except (OSError, sqlite3.Error):
                return
        pending, self._held = self._held, []
        for position, held in enumerate(pending):
            try:
                self._insert(held.kind, held.topic, held.payload, held.retain, held.seq)
            except sqlite3.Error as exc:
                # The aborted batch (if any) is back in self._held; the rest follows it, in order.
                self._held.extend(pending[position:])
                self._storage_failed(exc)
                return
        self.commit()
        if self._held:
            return
        if self.storage_error is not None:
            log.info("outbox %s: writes work again; %d held message(s) written", self.path, len(pending))
            self.notices.append(("outbox.storage_recovered", {"count": len(pending)}))
            self.storage_error = None

    def _remember_seqs_of_oldest(self, db: sqlite3.Connection, count: int) -> None:
        """Before rows go, keep the highest seq per kind among them, so seqs are never reused."""
        self._remember_seqs(
            db,
            "SELECT 'seq:' || kind, MAX(seq) FROM (SELECT kind, seq FROM outbox ORDER BY id LIMIT ?) GROUP BY kind",
            (count,),
        )

    @staticmethod
    def _remember_seqs(db: sqlite3.Connection, query: str, args: tuple) -> None:
        db.executemany(
            "INSERT INTO counters(name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = max(value, excluded.value)",
            db.execute(query, args).fetchall(),
        )

    # -- reading and acknowledging -------------------------------------------------------------
    def after(self, last_id: int, limit: int) -> list[Queued]:
        """Up to `limit` queued messages with id > last_id, oldest first (committed first)."""
        self.commit()
        try:
            rows = (
                self._require_db()
                .execute(
                    "SELECT id, kind, topic, payload, retain FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
                    (last_id, limit),
                )
                .fetchall()
            )
        except sqlite3.Error as exc:
            self._storage_failed(exc)
            return []
        return [Queued(row[0], Kind(row[1]), row[2], bytes(row[3]), bool(row[4])) for row in rows]

    def delete(self, ids: list[int]) -> None:
        """Forget acknowledged messages."""
        if not ids:
            return
        db = self._require_db()
        try:
            with _transaction(db):
                deleted = 0
                for start in range(0, len(ids), 500):
                    chunk = ids[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    self._remember_seqs(
                        db,
                        f"SELECT 'seq:' || kind, MAX(seq) FROM outbox WHERE id IN ({marks}) GROUP BY kind",
                        tuple(chunk),
                    )
                    deleted += db.execute(f"DELETE FROM outbox WHERE id IN ({marks})", chunk).rowcount
            self._count -= deleted
        except sqlite3.Error as exc:
            self._storage_failed(exc)

    @property
    def pending(self) -> int:
        return self._count + len(self._held)

    @property
    def held(self) -> int:
        return len(self._held)

    def take_notices(self) -> list[tuple[str, dict]]:
        notices, self.notices = self.notices, []
        return notices

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


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection):
    if db.in_transaction:  # inside a group-commit batch: join it
        yield
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
