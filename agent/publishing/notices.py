"""What the outbox, the schedule keeper and the broker link noticed becomes events — at a bounded rate.

The outbox reports storage trouble and files it set aside, the keeper a stored schedule it refused;
the link counts messages the broker refused and other agents publishing as this venue. A refusal
event may itself be refused (by the same ACL), so it is raised once per REJECTION_EVENT_EVERY_S at
most and can never feed a loop.
"""

from __future__ import annotations

import time

from agent.context import AgentContext
from agent.reporting.events import EventLog
from contract.payloads import Severity

REJECTION_EVENT_EVERY_S = 60.0
# Outbox notices that report data lost are critical; recovery is news; everything else a warning.
OUTBOX_NOTICE_SEVERITY = {
    "outbox.storage_recovered": Severity.INFO,
    "outbox.replaced": Severity.CRITICAL,
    "outbox.replaced_unknown_loss": Severity.CRITICAL,
    "outbox.held_lost": Severity.CRITICAL,
}


class Notices:
    def __init__(self, context: AgentContext, events: EventLog):
        self.context = context
        self.events = events
        self.new_link()

    def new_link(self) -> None:
        """A new link counts refusals and duplicates from zero."""
        self._rejections_reported = 0
        self._duplicates_reported = 0
        self._rejection_event_at = -REJECTION_EVENT_EVERY_S

    def raise_all(self) -> None:
        for code, fields in self.context.outbox.take_notices():
            self.events.agent(code, OUTBOX_NOTICE_SEVERITY.get(code, Severity.WARNING), **fields)
        for code, fields in self.context.schedule.take_notices():
            self.events.agent(code, Severity.WARNING, **fields)
        self._raise_rejections()
        self._raise_duplicates()

    def _raise_duplicates(self) -> None:
        """Another agent publishes as this venue (two PCs from one image): say so, once per other agent seen."""
        link = self.context.link
        if link is None or link.duplicates <= self._duplicates_reported:
            return
        self._duplicates_reported = link.duplicates
        self.events.agent("agent.duplicate_client", Severity.CRITICAL, client_id=link.client_id, count=link.duplicates)

    def _raise_rejections(self) -> None:
        link = self.context.link
        if link is None or link.rejected <= self._rejections_reported:
            return
        now = time.monotonic()
        if now - self._rejection_event_at < REJECTION_EVENT_EVERY_S:
            return
        topic, reason = link.last_rejection or ("?", "?")
        count = link.rejected - self._rejections_reported
        self._rejections_reported, self._rejection_event_at = link.rejected, now
        self.events.agent(
            "outbox.rejected", Severity.WARNING, count=count, total=link.rejected, topic=topic, reason=reason
        )
