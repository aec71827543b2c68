"""The Reporter the monitors write to: findings into the board, one event per verdict change.

A finding also feeds the conference record (Art. 17 time shares, Art. 13 incidents) and a codec's
call count feeds its Art. 3 duration, so the record sees exactly what the status shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.context import AgentContext
from agent.devices.summary import DeviceSummary
from agent.messages import AGENT_MESSAGES
from agent.reporting.events import EventLog
from agent.schedule.conference_record import ConferenceRecorder
from contract.findings import Finding, Verdict
from contract.payloads import Severity

if TYPE_CHECKING:  # frames come only from the video monitor: an SNMP/SSH daemon never loads numpy
    import numpy as np

SEVERITY_OF_VERDICT = {Verdict.FAIL: Severity.CRITICAL, Verdict.WARN: Severity.WARNING}


class FindingReporter:
    def __init__(self, context: AgentContext, events: EventLog, recorder: ConferenceRecorder):
        self.context = context
        self.events = events
        self.recorder = recorder

    def report(self, finding: Finding) -> None:
        """Record a finding; a changed verdict (and a first one that is not ok) becomes an event."""
        change = self.context.board.report(finding)
        self.recorder.observe(finding, self.context.clock(), change.previous if change else finding.verdict)
        if change is None or (change.previous is None and finding.verdict is Verdict.OK):
            return
        previous = change.previous.value if change.previous else "—"
        self.events.emit(
            finding.code,
            SEVERITY_OF_VERDICT.get(finding.verdict, Severity.INFO),
            AGENT_MESSAGES.render(
                "check.changed",
                check=finding.check,
                previous=previous,
                verdict=finding.verdict.value,
                zh=finding.message.zh,
                en=finding.message.en,
            ),
            check=finding.check,
            verdict=finding.verdict,
            previous=change.previous,
            data={"value": finding.value, "threshold": finding.threshold, "subject": finding.subject},
        )

    def announce(self, finding: Finding) -> None:
        """A device's news (a trap): one event, whatever the last one said; the board keeps nothing."""
        self.events.emit(
            finding.code,
            SEVERITY_OF_VERDICT.get(finding.verdict, Severity.INFO),
            finding.message,
            check=finding.check,
            verdict=finding.verdict,
            data={"value": finding.value, "subject": finding.subject},
        )

    def keep_frame(self, frame: np.ndarray) -> None:
        """Any thread (the video sampler's): the newest analysed frame, kept small for snapshots."""
        self.context.latest_frame.keep(frame)

    def set_metric(self, name: str, value: float | int | None) -> None:
        self.context.board.set_metric(name, value)

    def set_device(self, name: str, summary: DeviceSummary) -> None:
        self.context.board.set_device(name, summary)
        if (calls := summary.active_calls()) is not None:
            self.recorder.observe_calls(name, calls, self.context.clock())

    def codec_calls(self) -> dict[str, int]:
        """Each reachable codec's active calls now (the record's starting point at a meeting's start)."""
        devices = self.context.board.devices.items()
        return {name: calls for name, summary in devices if (calls := summary.active_calls()) is not None}
