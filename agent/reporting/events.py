"""Events: queued in the outbox first (durable), then the link is nudged to send them.

Every event of the agent — a check's verdict change, a self-test result, a timeline checkpoint, an
outbox or schedule notice — passes through `EventLog.emit`, so each gets its id, its per-venue `seq`
and, while a conference is in progress, that conference's id.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from agent.context import AgentContext
from agent.messages import AGENT_MESSAGES
from agent.outbox import Kind
from contract.findings import Message
from contract.payloads import Event, Severity, to_json

log = logging.getLogger(__name__)


class EventLog:
    def __init__(self, context: AgentContext):
        self.context = context

    def emit(self, code: str, severity: Severity, message: Message, **fields: Any) -> int:
        """Queue an event; returns its seq.

        An event raised while a conference is in progress carries its id (the first one's, if two
        overlap), so the hub can file it under that conference."""
        context = self.context
        now = context.clock()
        event_id = str(uuid.uuid4())
        if fields.get("conference_id") is None:
            current = context.schedule.timeline.current(now)
            fields["conference_id"] = current[0].id if current else None
        venue = context.venue

        def make(seq: int) -> bytes:
            return to_json(
                Event(
                    id=event_id, seq=seq, ts=now, venue=venue, code=code, severity=severity, message=message, **fields
                )
            )

        seq = context.outbox.append(Kind.EVENT, context.topics.events, make)
        level = logging.WARNING if severity is not Severity.INFO else logging.INFO
        log.log(level, "event %s #%d: %s", code, seq, message.en)
        context.wake_link()
        return seq

    def agent(self, code: str, severity: Severity, conference_id: str | None = None, **fields: Any) -> int:
        """An event whose text is the agent catalog's entry `code`, its fields kept as the event's data."""
        return self.emit(
            code,
            severity,
            AGENT_MESSAGES.render(code, conference_id=conference_id, **fields),
            data=dict(fields),
            conference_id=conference_id,
        )
