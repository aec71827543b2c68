"""The retained `status` payload: everything the venue knows now, composed from the running parts."""

from __future__ import annotations

import os
import socket
from typing import Any, Protocol

from agent import __version__
from agent.context import AgentContext
from contract.payloads import AgentInfo, OutboxState, Status, to_json, utc_now


class _Kept(Protocol):
    """A part that keeps the last of something the status shows (a self-test, a conference summary)."""

    @property
    def last(self) -> dict[str, Any] | None: ...


def compose_status(context: AgentContext, selftest: _Kept, summary: _Kept) -> Status:
    outbox, link, router = context.outbox, context.link, context.router
    return Status(
        ts=utc_now(),
        venue=context.venue,
        agent=AgentInfo(
            version=__version__, hostname=socket.gethostname(), pid=os.getpid(), started_at=context.started_at
        ),
        overall=context.board.overall,
        checks=dict(context.board.checks),
        devices={name: device.as_status() for name, device in context.board.devices.items()},
        tasks=dict(context.board.tasks),
        outbox=OutboxState(
            pending=outbox.pending,
            dropped_metrics=outbox.dropped_metrics,
            dropped_events=outbox.dropped_events,
            held_in_memory=outbox.held,
            storage_error=outbox.storage_error,
            rejected_by_broker=link.rejected if link is not None else 0,
        ),
        contacts=context.settings.contacts.model_dump(mode="json", exclude_none=True),
        conference={**context.schedule.status(), "last_summary": summary.last},
        selftest=selftest.last,
        commands=router.counts if router is not None else None,
        status_interval_s=context.settings.agent.status_interval_s,
    )


def status_bytes(context: AgentContext, selftest: _Kept, summary: _Kept) -> bytes:
    return to_json(compose_status(context, selftest, summary))
