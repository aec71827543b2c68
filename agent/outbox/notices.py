"""What the outbox has to tell, and how often: drops by the bounds, and episodes of storage trouble.
Each notice (and its log line) goes at most once a minute; the agent turns them into events.

Drops: each counted once, and reported with the count since the last notice and the total. Why
counts wait for the commit: a drop made inside a transaction that the disk then refuses did not
happen — the rollback brought the rows back — so drops of the open transaction are kept apart and
counted only once it is in the file. The totals outlive the process and a replaced file (they are
in the file's counters and in the marks; the highest of those wins).

Storage trouble — a disk that refuses writes (full, read-only, I/O error) — is said once when an
episode starts and once when it ends: a full disk fails every write, and the hub needs to hear once
that messages are held in memory, not once per append; a disk that flaps still says it at most once
a minute. The episode ends only when nothing is held or waiting to be deleted, and then says how
many held messages were written back and how many were delivered from memory meanwhile.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path

from agent.outbox.message import DROP_WORDS

log = logging.getLogger(__name__)

NOTICE_EVERY_S = 60.0  # storage and drop notices (and their log lines): at most one a minute each
PLACES = {"disk": "outbox.dropped", "held": "outbox.dropped_held"}  # where a drop happened -> its notice


class Drops:
    """Totals per word ("metric", "event"), those of the open transaction, and what is not yet said."""

    def __init__(self, clock: Callable[[], float]):
        self._clock = clock
        self._committed = dict.fromkeys(DROP_WORDS, 0)
        self._in_batch = dict.fromkeys(DROP_WORDS, 0)
        self._unreported = {place: dict.fromkeys(DROP_WORDS, 0) for place in PLACES}
        self._notice_at = dict.fromkeys(PLACES, -math.inf)

    def total(self, word: str) -> int:
        """Dropped ever, the open transaction's drops included."""
        return self._committed[word] + self._in_batch[word]

    def at_least(self, word: str, total: int) -> None:
        """A total recorded elsewhere (the marks, the file's counters): the highest wins."""
        self._committed[word] = max(self._committed[word], total)

    def in_batch(self, word: str, count: int) -> None:
        self._in_batch[word] += count

    def batch_committed(self) -> None:
        """The transaction is in the file: its drops count now."""
        for word, count in self._in_batch.items():
            if count:
                self.count("disk", word, count)
        self.batch_discarded()

    def batch_discarded(self) -> None:
        self._in_batch = dict.fromkeys(DROP_WORDS, 0)

    def count(self, place: str, word: str, count: int) -> None:
        """Count once; the notice and the log line come from report, at most one a minute."""
        self._committed[word] += count
        self._unreported[place][word] += count

    def report(self, notices: list[tuple[str, dict]], limits: dict[str, int], held_bytes_limit: int) -> None:
        """Append the drop notices due to `notices`, with the counts since the last ones."""
        now = self._clock()
        for place, code in PLACES.items():
            counts = self._unreported[place]
            if not any(counts.values()) or now - self._notice_at[place] < NOTICE_EVERY_S:
                continue
            self._notice_at[place] = now
            for word, count in counts.items():
                if not count:
                    continue
                total, limit = self.total(word), limits[place]
                log.warning(
                    "outbox full (%s, %d): dropped %d oldest %s message(s), %d in total",
                    place,
                    limit,
                    count,
                    word,
                    total,
                )
                fields = {"kind": f"{word}s", "count": count, "total": total, "limit": limit}
                if place == "held":
                    fields["limit_mb"] = round(held_bytes_limit / 1024 / 1024, 1)
                notices.append((code, fields))
                counts[word] = 0


class StorageEpisode:
    """`error` is the last storage failure of the episode under way (None: none is)."""

    def __init__(self, path: Path, notices: list[tuple[str, dict]], clock: Callable[[], float]):
        self.path = path
        self.error: str | None = None
        self.written = 0  # held messages written back in this episode
        self.delivered = 0  # held messages the broker acknowledged from memory in this episode
        self._notices = notices
        self._clock = clock
        self._announced = False
        self._notice_at = -math.inf

    def failed(self, error: str, held: int) -> None:
        self.error = error
        self.announce(held)

    def announce(self, held: int) -> None:
        """One notice (and one log line) per episode of trouble, and at most one a minute."""
        now = self._clock()
        if self.error is None or self._announced or now - self._notice_at < NOTICE_EVERY_S:
            return
        self._announced, self._notice_at = True, now
        log.error(
            "outbox %s: cannot write (%s); holding %d message(s) in memory and sending them from there",
            self.path,
            self.error,
            held,
        )
        self._notices.append(("outbox.storage_error", {"held": held, "error": self.error}))

    def ended(self) -> None:
        """Everything held is written back or delivered, and a write worked."""
        if self._announced:
            log.info(
                "outbox %s: writes work again; %d held message(s) written back, %d delivered from memory",
                self.path,
                self.written,
                self.delivered,
            )
            self._notices.append(("outbox.storage_recovered", {"count": self.written, "delivered": self.delivered}))
        self.error = None
        self._announced = False
        self.written = self.delivered = 0
