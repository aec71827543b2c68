"""The queue file as the outbox holds it: opening it, replacing a bad one (and saying what was
lost), adopting a good one, and the keys its rows are handed out by.

Why the loss can be told: the marks say how many rows were queued in the file at the last moment
known (`stored`); a file that must be moved aside took those with it. Without marks nobody knows,
and the notice says so. An empty file is a loss only when it should not be empty — this process
did not create it and rows were (or may have been) queued in it.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

from agent.outbox import rows, sqlite_file
from agent.outbox.message import Kind, Queued
from agent.outbox.sqlite_file import BadFile, FileState, describe, is_corrupt

log = logging.getLogger(__name__)

ROW_KEY_SPAN = 1 << 40  # a row's key is generation * ROW_KEY_SPAN + row id (see key)


class Store:
    """The connection (None while the file cannot be used), the row count and the file's history."""

    def __init__(self, path: Path, sync: str, notices: list[tuple[str, dict]], on_replace: Callable[[], None]):
        """`on_replace` is told when the file is replaced: acknowledgements and cursors of its rows
        mean nothing in the new one."""
        self.path = path
        self.sync = sync
        self.db: sqlite3.Connection | None = None
        self.count = 0  # committed rows in the file
        self.max_row_id = 0
        self.stored = 0  # rows in the file as last recorded (the loss if the file goes)
        self.stored_known = False  # False: no marks said how many (a lost file's loss is unknown)
        self.adopted = False
        self.generation = 0  # bumped when the file is replaced while running (see key)
        self._created_file = False  # this process created the queue file (an empty one is then no loss)
        self._notices = notices
        self._on_replace = on_replace

    def marks_say_stored(self, stored: int) -> None:
        """The marks' count of queued rows, until a file is adopted (then the file's own count rules)."""
        if not self.adopted:
            self.stored, self.stored_known = stored, True

    def open(self, last_seq: int) -> FileState:
        """Open and check the file; a bad one is replaced (and said), a good one repaired and adopted.
        Raises OSError or sqlite3.Error when the disk cannot be used now."""
        empty_is_a_loss = not self._created_file and (self.stored > 0 or not self.stored_known)
        problem = sqlite_file.problem_before_connect(self.path, empty_is_a_loss)
        db = None
        if problem is None:
            try:
                db = self._connect()
            except sqlite3.DatabaseError as exc:
                if not is_corrupt(exc):
                    raise
                problem = str(exc) if isinstance(exc, BadFile) else describe(exc)
        if db is None:
            self._replace(problem or "?", last_seq)
            db = self._connect()
        try:
            return self._adopt(db)
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.close()
            raise

    def peek_seqs(self) -> dict[str, int]:
        """The file cannot be opened for writing: the seqs it holds, if it can be read at all."""
        return sqlite_file.peek_seqs(self.path)

    def _connect(self) -> sqlite3.Connection:
        self._created_file = self._created_file or not self.path.exists()
        return sqlite_file.connect(self.path, self.sync, self.stored)

    def _replace(self, problem: str, last_seq: int) -> None:
        """Move the bad file aside and say how many queued messages went with it (from the marks)."""
        moved = sqlite_file.move_aside(self.path)
        if self.stored_known:
            lost = self.stored
            log.error(
                "outbox %s is unusable (%s); moved to %s; %d queued message(s) lost", self.path, problem, moved, lost
            )
            self._notices.append(
                ("outbox.replaced", {"moved": str(moved), "error": problem, "lost": lost, "last_seq": last_seq})
            )
        else:
            log.error("outbox %s is unusable (%s); moved to %s; loss unknown (no marks)", self.path, problem, moved)
            self._notices.append(
                ("outbox.replaced_unknown_loss", {"moved": str(moved), "error": problem, "last_seq": last_seq})
            )
        self.stored, self.stored_known = 0, True
        self.count = self.max_row_id = 0
        self._created_file = True
        if self.adopted:  # keys of rows in the old file must not delete rows of the new one
            self.generation += 1
        self._on_replace()

    def _adopt(self, db: sqlite3.Connection) -> FileState:
        """Take a checked file: repair what can be repaired, read what it holds, and only then make it
        the queue. The caller takes its seqs and drop totals (the file's and the marks' highest win)."""
        state = sqlite_file.repair_and_read(db)
        if state.removed_rows or state.removed_counters:
            log.error(
                "outbox %s repaired: %d malformed row(s) removed, %d bad counter(s)",
                self.path,
                state.removed_rows,
                state.removed_counters,
            )
            self._notices.append(("outbox.repaired", {"rows": state.removed_rows, "counters": state.removed_counters}))
        self.count = state.count
        self.max_row_id = max(self.max_row_id, state.max_row_id)
        self.db, self.adopted = db, True
        self.stored, self.stored_known = self.count, True
        return state

    def close_quietly(self) -> None:
        if self.db is not None:
            with contextlib.suppress(sqlite3.Error):
                self.db.close()
        self.db = None

    def require(self) -> sqlite3.Connection:
        if self.db is None:
            raise sqlite3.OperationalError("outbox is not open")
        return self.db

    def recount(self) -> None:
        """After a failed write SQLite may already have rolled back: the file says how many rows."""
        if self.db is not None:
            with contextlib.suppress(sqlite3.Error):
                self.count = rows.count(self.db)

    def key(self, row_id: int) -> int:
        """Row ids restart in a replacing file; the generation keeps an old row's late PUBACK from
        deleting a new row with the same id."""
        return self.generation * ROW_KEY_SPAN + row_id

    def row_of(self, key: int) -> int | None:
        """The row a (non-negative) key names, if it is a row of the current file."""
        generation, row_id = divmod(key, ROW_KEY_SPAN)
        return row_id if generation == self.generation else None

    def queued(self, row: tuple) -> Queued:
        return Queued(self.key(row[0]), Kind(row[1]), row[2], bytes(row[3]), bool(row[4]), row[5])
