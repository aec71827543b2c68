"""What the bounds dropped: each drop counted once, and reported at most once a minute per place.

Why counts wait for the commit: a drop made inside a transaction that the disk then refuses did not
happen — the rollback brought the rows back — so drops of the open transaction are kept apart and
counted only once it is in the file. The totals outlive the process and a replaced file (they are
in the file's counters and in the marks; the highest of those wins).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

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
