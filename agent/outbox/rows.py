"""The queue's SQL on a checked file: rows in, rows out in order, rows gone — and the counters that
keep `seq` and the drop totals from going back when rows go.

Why every delete first records the highest seq of what it removes: the next process takes `seq`
from the rows left, and a queue emptied by acknowledgements or drops must not give seq 1 again.
"""

from __future__ import annotations

import sqlite3
import time

from agent.outbox.message import Kind, Message
from agent.outbox.sqlite_file import transaction

UPSERT_MAX = (
    "INSERT INTO counters(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = max(value, excluded.value)"
)
DELETE_CHUNK = 500  # ids per DELETE, well under SQLite's limit of bound parameters


def insert(db: sqlite3.Connection, message: Message) -> int | None:
    """One row into the open transaction; returns its id."""
    cursor = db.execute(
        "INSERT INTO outbox(kind, seq, topic, payload, retain, created) VALUES (?, ?, ?, ?, ?, ?)",
        (message.kind.value, message.seq, message.topic, message.payload, int(message.retain), time.time()),
    )
    return cursor.lastrowid


def rows_after(db: sqlite3.Connection, last_id: int, limit: int) -> list[tuple]:
    """Up to `limit` rows (id, kind, topic, payload, retain, seq) with id > last_id, oldest first."""
    return db.execute(
        "SELECT id, kind, topic, payload, retain, seq FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
        (last_id, limit),
    ).fetchall()


def count(db: sqlite3.Connection) -> int:
    return db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]


def any_after(db: sqlite3.Connection, row_id: int) -> bool:
    """Is there a row with id > row_id? (After a failed COMMIT: did it reach the file after all?)"""
    return bool(db.execute("SELECT 1 FROM outbox WHERE id > ? LIMIT 1", (row_id,)).fetchone())


def delete(db: sqlite3.Connection, ids: list[int]) -> int:
    """Delete the rows with these ids (acknowledged); returns how many went."""
    deleted = 0
    for start in range(0, len(ids), DELETE_CHUNK):
        chunk = ids[start : start + DELETE_CHUNK]
        marks = ",".join("?" * len(chunk))
        _remember_seqs(
            db, f"SELECT 'seq:' || kind, MAX(seq) FROM outbox WHERE id IN ({marks}) GROUP BY kind", tuple(chunk)
        )
        deleted += db.execute(f"DELETE FROM outbox WHERE id IN ({marks})", chunk).rowcount
    return deleted


def drop_oldest(db: sqlite3.Connection, excess: int) -> tuple[int, int]:
    """The written policy at the bound: the oldest `excess` metrics go, and only when there are too
    few metrics the oldest others. Returns (metrics, others) dropped."""
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
    return metrics, others


def record_dropped(db: sqlite3.Connection, metrics: int, events: int) -> None:
    """The drop totals, in the file with the drops (they commit or roll back together)."""
    db.executemany(UPSERT_MAX, [("dropped:metric", metrics), ("dropped:event", events)])


def probe(db: sqlite3.Connection) -> None:
    """One small write, to learn whether the disk takes writes again (raises if not)."""
    with transaction(db):
        db.execute(UPSERT_MAX, ("probe", time.time_ns()))


def _remember_seqs(db: sqlite3.Connection, query: str, args: tuple) -> None:
    db.executemany(UPSERT_MAX, db.execute(query, args).fetchall())
