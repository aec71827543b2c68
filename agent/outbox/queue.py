"""The outbox as its users see it: opening and closing, what to send next, what the broker
acknowledged, retrying a disk that refused, and the state and notices for the status and events.

Why the cursor lives here and not in the sender: each message is handed out once per broker session
(paho resends what it already has across reconnects), and rows of the file always go before the
messages held in memory, so the order of `seq` holds whatever the disk does. `rewind` starts a new
session from the oldest again.
"""

from __future__ import annotations

import logging
import math
import sqlite3

from agent.outbox import rows
from agent.outbox.message import Kind, Queued
from agent.outbox.sqlite_file import transaction
from agent.outbox.writing import Writing

log = logging.getLogger(__name__)

WRITE_BACK_CHUNK = 500  # held messages written back per transaction...
WRITE_BACK_PER_STEP = 2_000  # ...and per delivery step, so the event loop keeps breathing


class Outbox(Writing):
    """A bounded, ordered, crash-safe queue of outgoing messages. Used from one thread only."""

    # -- opening and closing -----------------------------------------------------------------------
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
            self._take_highest(self._store.peek_seqs())  # so that messages held meanwhile do not repeat them
            self._storage_failed(exc)
        self._write_marks()

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
        marks, held_lost = self._marks.open()
        if marks is None:
            return
        self._take_highest(marks.seq, {"metric": marks.dropped_metrics, "event": marks.dropped_events})
        self._store.marks_say_stored(marks.stored)
        if marks.held and held_lost:
            log.error(
                "the previous run ended with %d message(s) held in memory, on neither disk nor broker", marks.held
            )
            self.notices.append(("outbox.held_lost", {"count": marks.held}))

    def _open_file(self) -> None:
        state = self._store.open(last_seq=self._seq[Kind.EVENT])
        self._take_highest(state.seqs, state.dropped)

    def _take_highest(self, seqs: dict[str, int], dropped: dict[str, int] | None = None) -> None:
        """Seqs and drop totals recorded elsewhere (the marks, the file): the highest wins, so that
        neither ever goes back."""
        for name, value in seqs.items():
            self._seq[Kind(name)] = max(value, self._seq[Kind(name)])
        for word, total in (dropped or {}).items():
            self._drops.at_least(word, total)

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

    # -- retrying ----------------------------------------------------------------------------------
    @property
    def needs_retry(self) -> bool:
        return bool(self._held or self._undeleted or self.storage_error) or self._store.db is None or not self._marks.ok

    def retry_held(self) -> None:
        """Write back what is held (oldest first), delete what was acknowledged, reopen a file that
        could not be opened — at most once every `retry_every_s` while the disk keeps refusing, and
        at most WRITE_BACK_PER_STEP messages per call."""
        if not self.needs_retry or self._clock() < self._retry_at:
            return
        self._retry_at = self._clock() + self.retry_every_s
        if not self._marks.ok:
            self._open_marks()
            self._write_marks()
        if self._store.db is None:
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
        while self._held and written < WRITE_BACK_PER_STEP and self._store.db is not None:
            chunk = self._held.oldest(WRITE_BACK_CHUNK)
            self._batch.write_back = True
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
        try:
            rows.probe(self._store.require())
        except sqlite3.Error as exc:
            self._storage_failed(exc)
            return
        self._storage_ok()

    # -- reading and acknowledging -----------------------------------------------------------------
    def after(self, last_id: int, limit: int) -> list[Queued]:
        """Up to `limit` rows of the file with id > last_id, oldest first (committed first)."""
        self.commit()
        try:
            found = rows.rows_after(self._store.require(), last_id, limit)
        except sqlite3.Error as exc:
            self._storage_failed(exc)
            return []
        return [self._store.queued(row) for row in found]

    def next_to_send(self, limit: int) -> list[Queued]:
        """The next messages not yet handed out in this broker session, in order: rows of the file,
        then — once every row is out — messages held in memory. Each is handed out once
        (see rewind)."""
        self.commit()
        out: list[Queued] = []
        while self._store.db is not None:
            want = limit - len(out)
            try:
                found = rows.rows_after(self._store.db, self._row_cursor, want)
            except sqlite3.Error as exc:
                self._storage_failed(exc)
                return out  # rows may wait unread: held messages must not overtake them
            if found:
                self._row_cursor = found[-1][0]
            # rows acknowledged whose DELETE was refused are passed over, and do not use up the room
            out += [self._store.queued(row) for row in found if row[0] not in self._undeleted]
            if len(found) < want:
                break  # every row is out: held messages may follow
            if len(out) >= limit:
                return out
        out += [message.queued() for message in self._held.hand_out(limit - len(out))]
        return out

    def held_messages(self) -> list[Queued]:
        """What is held in memory, oldest first, for inspection (handing out is next_to_send's)."""
        return [message.queued() for message in self._held.messages()]

    def rewind(self) -> None:
        """A new broker session: hand everything not yet acknowledged out again (from the start)."""
        self._row_cursor = self._held.handed = 0
        self._written_handed.clear()

    def delete(self, keys: list[int]) -> None:
        """Forget acknowledged messages: rows are deleted, held messages dropped from memory."""
        if not keys:
            return
        acked = []
        for key in keys:
            if key < 0:
                message = self._held.get(-key)
                if message is not None:
                    self._held.forget(message)
                    self._episode.delivered += 1
                elif (row_id := self._written_handed.pop(-key, None)) is not None:
                    acked.append(row_id)
            elif (row_id := self._store.row_of(key)) is not None:
                acked.append(row_id)
        self._delete_rows(acked)
        self._write_marks()

    def _delete_rows(self, acked: list[int]) -> None:
        ids = sorted(self._undeleted.union(acked))
        if not ids:
            return
        if self._store.db is None:
            self._undeleted.update(ids)
            return
        self.commit()
        db = self._store.db
        if db is None:
            self._undeleted.update(ids)
            return
        try:
            with transaction(db):
                deleted = rows.delete(db, ids)
        except sqlite3.Error as exc:
            self._undeleted.update(ids)
            self._store.recount()
            self._storage_failed(exc)
            return
        self._store.count -= deleted
        self._undeleted.clear()
        self._storage_ok()

    # -- state -------------------------------------------------------------------------------------
    @property
    def storage_error(self) -> str | None:
        """Why the disk refused the last write of the episode under way (None: it takes writes)."""
        return self._episode.error

    @property
    def pending(self) -> int:
        """Messages not yet acknowledged by the broker: rows of the file and messages held."""
        return max(0, self._store.count + self._batch.rows - len(self._undeleted)) + len(self._held)

    @property
    def held(self) -> int:
        return len(self._held)

    @property
    def deletes_pending(self) -> int:
        """Rows the broker acknowledged whose DELETE the disk refused (retried; not sent again)."""
        return len(self._undeleted)

    def take_notices(self) -> list[tuple[str, dict]]:
        """The notices due (storage trouble, drops — each at most once a minute, with counts since)."""
        self._episode.announce(len(self._held))
        self._drops.report(self.notices, {"disk": self.max_messages, "held": self.max_held}, self.max_held_bytes)
        notices = list(self.notices)
        self.notices.clear()  # the same list: the store and the episode append to it
        return notices
