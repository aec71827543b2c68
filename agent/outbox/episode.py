"""An episode of storage trouble — a disk that refuses writes (full, read-only, I/O error) — and
what is said about it: one notice when it starts, one when it ends.

Why once per episode: a full disk fails every write, and the hub needs to hear once that messages
are held in memory, not once per append; a disk that flaps still says it at most once a minute.
The episode ends only when nothing is held or waiting to be deleted, and then says how many held
messages were written back and how many were delivered from memory meanwhile.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path

from agent.outbox.drops import NOTICE_EVERY_S

log = logging.getLogger(__name__)


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
