"""The conference duties at each timeline tick: keep the record (Art. 3, 20), raise overruns, publish
summaries.

At a meeting's start the record opens with the checks and codec calls of that moment; at its end
the duration stops counting; after it the Art. 20 summary is made when complete, graded by what the
venue sent up (`summary_severity`), kept on disk for `cmd/summary`, and raised as an event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent.context import AgentContext
from agent.messages import AGENT_MESSAGES
from agent.reporting.events import EventLog
from agent.reporting.reporter import FindingReporter
from agent.schedule.conference_record import ConferenceRecorder, summary_severity
from agent.schedule.summary_files import SummaryFiles
from agent.schedule.timeline import CheckpointKind
from contract.conference import Conference
from contract.payloads import Severity

DURATION_SOURCE = {"codec": ("终端呼叫状态", "codec's call state"), "schedule": ("会议计划", "schedule")}


class ConferenceDuties:
    def __init__(
        self,
        context: AgentContext,
        events: EventLog,
        recorder: ConferenceRecorder,
        reporter: FindingReporter,
    ):
        self.context = context
        self.events = events
        self.recorder = recorder
        self.reporter = reporter
        self.files = SummaryFiles(context.settings.agent.state_dir)
        self.last: dict[str, Any] | None = None  # the newest summary, shown in the status

    def checkpoint(self, kind: CheckpointKind, conference: Conference, now: datetime) -> None:
        if kind is CheckpointKind.MEETING_START:
            self.recorder.open(conference, now, dict(self.context.board.checks), self.reporter.codec_calls())
        elif kind is CheckpointKind.MEETING_END:
            self.recorder.end(conference.id, now)
        elif kind is CheckpointKind.POST_MEETING_SUMMARY:
            self.recorder.request_summary(conference.id)

    def tick(self, now: datetime) -> None:
        """Art. 3 overruns newly passed, Art. 20 summaries now complete."""
        for overrun in self.recorder.overruns(now):
            conference = overrun.conference
            self.events.agent(
                f"conference.overrun_{overrun.level}",
                Severity.CRITICAL if overrun.level == "maximum" else Severity.WARNING,
                conference_id=conference.id,
                title=conference.title or conference.id,
                kind=conference.kind,
                minutes=round(overrun.minutes, 1),
                limit=overrun.limit,
                source=overrun.source,
                source_zh=DURATION_SOURCE[overrun.source][0],
                source_en=DURATION_SOURCE[overrun.source][1],
            )
        summaries = self.recorder.ready_summaries(now)
        for summary in summaries:
            self._publish(summary)
        if self.recorder.records or summaries:  # nothing to keep between conferences
            self.recorder.save()

    def _publish(self, summary: dict[str, Any]) -> None:
        summary["severity"] = summary_severity(summary).value  # kept with it: cmd/summary replies carry it
        self.last = summary
        self.files.save(summary)
        self.events.emit(
            "conference.summary",
            Severity(summary["severity"]),
            AGENT_MESSAGES.render(
                "conference.summary",
                title=summary["title"] or summary["conference_id"],
                actual=summary["actual_min"],
                allowed="—" if summary["allowed_min"] is None else summary["allowed_min"],
                ok="—" if summary["art17_min_ok_pct"] is None else summary["art17_min_ok_pct"],
                incidents=summary["incidents"],
                drops=summary["call_drops"],
            ),
            conference_id=summary["conference_id"],
            data=summary,
        )
        self.context.board.changed.set()
