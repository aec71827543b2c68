"""The timeline's clock: at each checkpoint's time (and at least every MAX_TIMELINE_SLEEP_S) announce
what is due, start its self-test, and do the conference duties.

`tick(now)` takes the time as an argument so that tests can drive a whole day through it in seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from datetime import datetime
from typing import Any

from agent.context import AgentContext
from agent.reporting.events import EventLog
from agent.schedule.duties import ConferenceDuties
from agent.schedule.timeline import CheckpointKind
from agent.selftest.runner import SelftestRunner
from contract.payloads import Severity

log = logging.getLogger(__name__)

MAX_TIMELINE_SLEEP_S = 30.0
SELFTEST_CHECKPOINTS = {
    CheckpointKind.EVE_DEBUG_SELFTEST,
    CheckpointKind.POWER_ON_SELFTEST,
    CheckpointKind.ROLLCALL_SELFTEST,
    CheckpointKind.SEATING_CHECK,  # with the Art. 15 framing check
}


class TimelineTicker:
    def __init__(self, context: AgentContext, events: EventLog, duties: ConferenceDuties, selftests: SelftestRunner):
        self.context = context
        self.events = events
        self.duties = duties
        self.selftests = selftests
        self.wake = asyncio.Event()  # set when the schedule changed: recompute the next wake-up
        self.background: set[asyncio.Task] = set()  # the checkpoints' self-tests

    async def loop(self) -> None:
        context = self.context
        while True:
            self.tick(context.clock())
            following = context.schedule.timeline.next_at(context.clock())
            wait = MAX_TIMELINE_SLEEP_S if following is None else (following - context.clock()).total_seconds()
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=max(0.05, min(wait, MAX_TIMELINE_SLEEP_S)))

    def tick(self, now: datetime) -> None:
        """Announce due checkpoints (once each), start their self-tests, report the missed ones, and do
        the conference duties."""
        schedule = self.context.schedule
        due = schedule.timeline.due(now)
        for point in due.run:
            conference = schedule.timeline.conferences[point.conference_id]
            self.events.agent(
                f"timeline.{point.kind.value}",
                Severity.INFO,
                title=conference.title or conference.id,
                conference=conference.id,
                conference_id=conference.id,
                at=point.at.astimezone(schedule.zone).isoformat(),
            )
            self.duties.checkpoint(point.kind, conference, now)
            if point.kind in SELFTEST_CHECKPOINTS:
                framing = point.kind is CheckpointKind.SEATING_CHECK
                self._spawn(self.selftests.run(point.kind.value, conference, framing))
        for point, _reason in due.skipped:
            conference = schedule.timeline.conferences[point.conference_id]
            self.events.agent(
                "timeline.missed",
                Severity.WARNING,
                title=conference.title or conference.id,
                conference=conference.id,
                conference_id=conference.id,
                checkpoint=point.kind.value,
            )
        if due.run or due.skipped:
            schedule.fired_changed()
            self.context.board.changed.set()
        self.duties.tick(now)

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.background.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        """No background task dies unobserved: its failure is logged (a checkpoint's self-test refused
        because too many are waiting, too)."""
        self.background.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("background task failed: %s", error, exc_info=error)

    async def cancel_background(self) -> None:
        for task in list(self.background):
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
