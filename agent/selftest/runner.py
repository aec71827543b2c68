"""The daemon's self-test runner: one run at a time, its report published retained, its failures raised.

Requests that arrive while a run is going share the next run (agent/selftest/coalesce.py); in the
daemon the monitors' fresh verdicts stand in for a second opening of the capture card or sound input
(`live_findings`).
"""

from __future__ import annotations

import logging
from typing import Any

from agent.context import AgentContext
from agent.messages import AGENT_MESSAGES
from agent.outbox import Kind
from agent.reporting.events import EventLog
from agent.selftest.coalesce import CoalescingRunner
from agent.selftest.report import summary as selftest_summary
from agent.selftest.suite import run_selftest
from agent.snapshot.publish import SnapshotUnavailable, make_snapshot, publish_snapshot
from contract.conference import Conference
from contract.findings import Finding, Verdict
from contract.payloads import SelftestReport, Severity, to_json, utc_now

log = logging.getLogger(__name__)

MAX_WAITING_SELFTESTS = 4  # distinct (trigger, conference, framing) requests queued behind a run
SEVERITY_OF_REPORT = {"fail": Severity.CRITICAL, "warn": Severity.WARNING}


class SelftestRunner:
    def __init__(self, context: AgentContext, events: EventLog):
        self.context = context
        self.events = events
        self._queue: CoalescingRunner[dict[str, Any]] = CoalescingRunner(MAX_WAITING_SELFTESTS)
        self.last: dict[str, Any] | None = None  # the newest report's summary, shown in the status

    def live_findings(self, checks: tuple[str, ...], max_age_s: float) -> list[Finding] | None:
        """A running monitor's findings of `checks`, if it has them all and none is older than max_age_s."""
        found = [f for f in self.context.board.checks.values() if f.check in checks]
        if {f.check for f in found} != set(checks):
            return None
        oldest = min(f.ts for f in found)
        return found if (utc_now() - oldest).total_seconds() <= max_age_s else None

    async def run(self, trigger: str, conference: Conference | None, framing: bool) -> dict[str, Any]:
        """Run the suite, publish the report retained, raise events, return it.
        QueueFull when too many different requests are already waiting."""
        key = (trigger, conference.id if conference else None, framing)
        return await self._queue.submit(key, lambda: self._run(trigger, conference, framing))

    async def _run(self, trigger: str, conference: Conference | None, framing: bool) -> dict[str, Any]:
        context = self.context
        report = await run_selftest(context.settings, context.venue, trigger, conference, framing, self.live_findings)
        payload = to_json(report)
        context.outbox.append(Kind.SELFTEST, context.topics.selftest, lambda _seq: payload, retain=True)
        self.last = selftest_summary(report)
        self._raise(report, trigger)
        self._snapshot(report)
        context.board.changed.set()
        return report.model_dump(mode="json", by_alias=True)

    def _snapshot(self, report: SelftestReport) -> None:
        """The uplink picture the self-test judged, beside its report (where the venue allows pictures)."""
        video = self.context.settings.video
        if video is None or not video.snapshots:
            return
        try:
            snapshot = make_snapshot(self.context, "selftest", report.id, report.conference_id)
        except SnapshotUnavailable as exc:
            log.info("no snapshot with self-test %s: %s", report.id, exc)
            return
        publish_snapshot(self.context, snapshot)

    def _raise(self, report: SelftestReport, trigger: str) -> None:
        """One critical event per failed item, then one for the run with its counts."""
        conference_id = report.conference_id
        for item in report.items:
            if item.verdict == "fail":
                self.events.emit(
                    "selftest.item_failed",
                    Severity.CRITICAL,
                    AGENT_MESSAGES.render(
                        "selftest.item_failed", check=item.check, zh=item.reason.zh, en=item.reason.en
                    ),
                    check=item.check,
                    verdict=Verdict.FAIL,
                    conference_id=conference_id,
                    data={"selftest_id": report.id, "trigger": trigger, "article": item.article, "value": item.value},
                )
        counts = {
            word: sum(1 for i in report.items if i.verdict == word) for word in ("pass", "warn", "fail", "unknown")
        }
        self.events.agent(
            "selftest.completed",
            SEVERITY_OF_REPORT.get(report.verdict, Severity.INFO),
            conference_id=conference_id,
            trigger=trigger,
            verdict=report.verdict,
            duration=report.duration_s,
            selftest_id=report.id,
            **counts,
        )
