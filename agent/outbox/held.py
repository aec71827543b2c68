"""Messages held in memory while the disk refuses writes: in order, bounded, and handed out from here.

Why hold rather than block or drop the newest: a monitoring agent must keep monitoring and
publishing its status at the very moment the venue has a problem (docs/outbox.md, "When the disk
is full"). So what the file cannot take waits here, is handed to the broker directly once every row
of the file is out, and is forgotten on PUBACK or when it is written back.

Why the bound spares what is in flight: a message already handed to the broker may still be
acknowledged, so dropping it would count a loss that may not happen.
"""

from __future__ import annotations

import itertools

from agent.outbox.message import Kind, Message

HELD_MAX_MESSAGES = 10_000  # held in memory while the disk refuses writes, at most...
HELD_MAX_BYTES = 8 * 1024 * 1024  # ...and at most this much payload


class Held:
    """The messages held, oldest first, and how far this broker session has handed them out."""

    def __init__(self, max_messages: int, max_bytes: int):
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._messages: dict[int, Message] = {}  # ticket -> message, in order
        self._bytes = 0
        self._metrics = 0
        self._newest = 0  # highest ticket ever held (nothing above it can wait to be handed out)
        self.handed = 0  # highest ticket handed out in this broker session (0 after a rewind)

    def __len__(self) -> int:
        return len(self._messages)

    def messages(self) -> list[Message]:
        return list(self._messages.values())

    def oldest(self, count: int) -> list[Message]:
        return list(itertools.islice(self._messages.values(), count))

    def get(self, ticket: int) -> Message | None:
        return self._messages.get(ticket)

    def add(self, messages: list[Message]) -> list[Message]:
        """Hold `messages` behind those held; returns those the bound then drops (the caller counts
        them): the oldest not yet handed out, metrics first."""
        for message in messages:
            self._messages[message.ticket] = message
            self._bytes += len(message.payload)
            self._metrics += message.kind is Kind.METRIC
            self._newest = max(self._newest, message.ticket)
        dropped = []
        while len(self._messages) > self.max_messages or (self._bytes > self.max_bytes and len(self._messages) > 1):
            victim = self._oldest_unhanded(Kind.METRIC) if self._metrics else None
            victim = victim or self._oldest_unhanded(None)
            if victim is None:
                break
            self.forget(victim)
            dropped.append(victim)
        return dropped

    def forget(self, message: Message) -> None:
        """Delivered, written back or dropped: no longer held."""
        if self._messages.pop(message.ticket, None) is not None:
            self._bytes -= len(message.payload)
            self._metrics -= message.kind is Kind.METRIC

    def hand_out(self, room: int) -> list[Message]:
        """The next held messages not yet handed out, oldest first: up to `room` (one at least)."""
        out: list[Message] = []
        if not self._messages or self._newest <= self.handed:
            return out
        for ticket, message in self._messages.items():
            if ticket <= self.handed:
                continue
            out.append(message)
            self.handed = ticket
            if len(out) >= room:
                break
        return out

    def _oldest_unhanded(self, kind: Kind | None) -> Message | None:
        for ticket, message in self._messages.items():
            if ticket > self.handed and (kind is None or message.kind is kind):
                return message
        return None
