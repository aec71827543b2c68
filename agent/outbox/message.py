"""What the outbox carries: the three kinds of message, a message on its way, and what is handed out.

A message is `Held` in memory or written as a row of the file; either way it keeps the `ticket` it
got at its append, the process-wide order that write-back and hand-out follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """Each kind has its own gap-free `seq`; metrics are the first to go at a bound."""

    EVENT = "event"
    SELFTEST = "selftest"
    METRIC = "metric"


def drop_word(kind: Kind) -> str:
    """How drops are counted and reported: metrics apart, events and self-tests together."""
    return "metric" if kind is Kind.METRIC else "event"


DROP_WORDS = ("metric", "event")


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
class Message:
    """A message appended in this process, until it is committed to the file or acknowledged."""

    ticket: int  # process-wide order of appends; a held message's key is -ticket
    kind: Kind
    seq: int
    topic: str
    payload: bytes
    retain: bool
    row_id: int | None = None  # once written to the file

    def queued(self) -> Queued:
        """As handed out from memory: keyed by -ticket, so that its PUBACK finds it in the hold."""
        return Queued(-self.ticket, self.kind, self.topic, self.payload, self.retain, self.seq)
