"""What happened during each conference: Art. 17 verdict time shares, device incidents, call drops,
actual vs allowed duration (Art. 3) — the material of the Art. 20 post-meeting summary.

Clock-free: every call takes `now`, so a test can replay a whole conference in microseconds. The
records are saved in `state_dir/conference_records.json` so a restart mid-conference keeps what was
seen (the time the agent was down is simply not counted: `observed_s` says how much was).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from agent.schedule.timeline import DURATION_LIMITS
from agent.sources import DEVICE_PREFIXES
from contract.conference import Conference
from contract.findings import ART17_CHECKS, Finding, Verdict
from contract.payloads import Severity

log = logging.getLogger(__name__)

DROP_GUARD = timedelta(minutes=5)  # a call ending this close to the planned end is the meeting ending
MAX_LISTED_INCIDENTS = 20
MAX_SUMMARY_WAIT = timedelta(hours=3)
# How an Art. 20 summary is graded (its event's severity): an Art. 17 check failing for this share of
# the conference means the venue was not properly seen or heard for a good part of it.
SUMMARY_CRITICAL_FAIL_PCT = 25.0
SUMMARY_WARNING_WARN_PCT = 25.0


@dataclass
class Record:
    conference: dict
    opened_at: str
    seconds: dict[str, dict[str, float]] = field(default_factory=dict)  # check → verdict → seconds
    current: dict[str, list] = field(default_factory=dict)  # check → [verdict, since (ISO)]
    incidents: list[dict] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)  # codec → active calls last seen
    call_seen: bool = False
    call_ended_at: str | None = None
    call_drops: int = 0
    ended_at: str | None = None  # meeting_end: the accounting stops unless a call is still up
    overruns: list[str] = field(default_factory=list)  # levels already reported: normal, maximum, planned
    summary_requested: bool = False

    @property
    def model(self) -> Conference:
        return Conference.model_validate(self.conference)


@dataclass(frozen=True)
class Overrun:
    conference: Conference
    level: str  # "normal", "maximum" or "planned"
    minutes: float
    limit: int
    source: str  # "codec" or "schedule"


class ConferenceRecorder:
    def __init__(self, state_dir: Path):
        self.path = state_dir / "conference_records.json"
        self.records: dict[str, Record] = self._load()

    # -- persistence ----------------------------------------------------------------------------
    def _load(self) -> dict[str, Record]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            records = {key: Record(**value) for key, value in raw.items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError) as exc:
            log.error("ignoring %s: %s", self.path, exc)
            return {}
        for record in records.values():
            record.current = {}  # the time the agent was down is not counted
        return records

    def save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps({key: asdict(r) for key, r in self.records.items()}, ensure_ascii=False)
            self.path.write_text(text, encoding="utf-8")
        except OSError as exc:
            log.error("cannot write %s: %s", self.path, exc)

    # -- recording ------------------------------------------------------------------------------
    def open(
        self, conference: Conference, now: datetime, checks: dict[str, Finding], calls: dict[str, int] | None = None
    ) -> None:
        """meeting_start: start counting, from the verdicts and codec call states known now."""
        if conference.id in self.records:
            return
        record = Record(conference.model_dump(mode="json"), now.isoformat())
        record.calls = dict(calls or {})
        record.call_seen = any(record.calls.values())
        self.records[conference.id] = record
        for finding in checks.values():
            self._track(record, finding, now)

    def _counting(self, record: Record) -> bool:
        return record.ended_at is None or any(record.calls.values())

    def observe(self, finding: Finding, now: datetime, changed_from: Verdict | None = None) -> None:
        for record in self.records.values():
            if not self._counting(record):
                continue
            self._track(record, finding, now)
            if (
                finding.check.startswith(DEVICE_PREFIXES)
                and finding.verdict is Verdict.FAIL
                and changed_from is not Verdict.FAIL
            ):
                record.incidents.append(
                    {
                        "at": now.isoformat(),
                        "check": finding.check,
                        "subject": finding.subject,
                        "en": finding.message.en,
                    }
                )

    def _track(self, record: Record, finding: Finding, now: datetime) -> None:
        if finding.check not in ART17_CHECKS:
            return
        verdict = finding.verdict.value
        previous = record.current.get(finding.check)
        if previous is not None and previous[0] == verdict:
            return
        self._settle(record, finding.check, now)
        record.current[finding.check] = [verdict, now.isoformat()]

    def _settle(self, record: Record, check: str, now: datetime) -> None:
        """Add the time since the current verdict began to its total."""
        previous = record.current.get(check)
        if previous is None:
            return
        verdict, since = previous
        elapsed = max(0.0, (now - datetime.fromisoformat(since)).total_seconds())
        totals = record.seconds.setdefault(check, {})
        totals[verdict] = totals.get(verdict, 0.0) + elapsed
        record.current[check] = [verdict, now.isoformat()]

    def observe_calls(self, device: str, active: int, now: datetime) -> None:
        """A codec's active call count; a call lost before the planned end is a drop."""
        for record in self.records.values():
            before = record.calls.get(device)
            record.calls[device] = active
            if active > 0:
                record.call_seen = True
                record.call_ended_at = None
            elif before and not any(record.calls.values()):
                record.call_ended_at = now.isoformat()
                if now < record.model.end - DROP_GUARD:
                    record.call_drops += 1
                    record.incidents.append(
                        {"at": now.isoformat(), "check": "call", "subject": device, "en": "call dropped"}
                    )
                if record.ended_at is not None:
                    self._stop_counting(record, now)

    def end(self, conference_id: str, now: datetime) -> None:
        """meeting_end (planned): stop counting, unless the codec is still in the call."""
        record = self.records.get(conference_id)
        if record is None or record.ended_at is not None:
            return
        record.ended_at = now.isoformat()
        if not any(record.calls.values()):
            self._stop_counting(record, now)

    def _stop_counting(self, record: Record, now: datetime) -> None:
        for check in list(record.current):
            self._settle(record, check, now)
        record.current = {}

    # -- Art. 3 ---------------------------------------------------------------------------------
    def actual_minutes(self, record: Record, now: datetime) -> tuple[float, str]:
        """From the start to the codec's call end (or now, in a call); else the planned duration."""
        conference = record.model
        if record.call_seen:
            until = datetime.fromisoformat(record.call_ended_at) if record.call_ended_at else now
            return max(0.0, (until - conference.start).total_seconds() / 60), "codec"
        return float(conference.duration_min), "schedule"

    def overruns(self, now: datetime) -> list[Overrun]:
        """Art. 3 limits newly passed (each level once per conference)."""
        found = []
        for record in self.records.values():
            conference = record.model
            limits = DURATION_LIMITS[conference.kind]
            if limits is None:
                continue
            minutes, source = self.actual_minutes(record, now)
            if source == "schedule":
                levels = [("planned", limits[0])] if conference.duration_min > limits[0] else []
            else:
                levels = [(level, limit) for level, limit in (("normal", limits[0]), ("maximum", limits[1]))]
            for level, limit in levels:
                if level not in record.overruns and minutes > limit:
                    if level == "normal" and limits[0] == limits[1]:
                        continue  # one limit only: reported as the maximum
                    record.overruns.append(level)
                    found.append(Overrun(conference, level, minutes, limit, source))
        return found

    # -- Art. 20 --------------------------------------------------------------------------------
    def request_summary(self, conference_id: str) -> None:
        """post_meeting_summary: summarise as soon as the codec has left the call."""
        record = self.records.get(conference_id)
        if record is not None:
            record.summary_requested = True

    def ready_summaries(self, now: datetime) -> list[dict]:
        """Summaries of conferences asked for and over: the call has ended, or no call is seen, or
        the call has outlasted every Art. 3 limit by far (MAX_SUMMARY_WAIT after the planned end)."""
        ready = []
        for conference_id, record in list(self.records.items()):
            in_call = any(record.calls.values())
            if record.summary_requested and (not in_call or now > record.model.end + MAX_SUMMARY_WAIT):
                summary = self.close(conference_id, now)
                if summary is not None:
                    ready.append(summary)
        return ready

    def close(self, conference_id: str, now: datetime) -> dict | None:
        """post_meeting_summary: the record as a summary; the record is removed."""
        record = self.records.pop(conference_id, None)
        if record is None:
            return None
        still_in_call = any(record.calls.values())
        self._stop_counting(record, now)
        conference = record.model
        minutes, source = self.actual_minutes(record, now)
        limits = DURATION_LIMITS[conference.kind]
        shares = {}
        for check, totals in record.seconds.items():
            observed = sum(totals.values())
            if observed > 0:
                shares[check] = {
                    "observed_s": round(observed, 1),
                    **{v.value: round(100 * totals.get(v.value, 0.0) / observed, 1) for v in Verdict},
                }
        return {
            "conference_id": conference.id,
            "title": conference.title,
            "kind": conference.kind,
            "start": conference.start.isoformat(),
            "planned_min": conference.duration_min,
            "normal_limit_min": limits[0] if limits else None,
            "allowed_min": limits[1] if limits else None,
            "actual_min": round(minutes, 1),
            "duration_source": source,
            "still_in_call": still_in_call,
            "over_limit": bool(limits) and minutes > limits[1],
            "art17": shares,
            "art17_min_ok_pct": _min_ok_share(shares),
            "incidents": len(record.incidents),
            "incident_list": record.incidents[:MAX_LISTED_INCIDENTS],
            "call_drops": record.call_drops,
        }


def _min_ok_share(shares: dict[str, dict]) -> float | None:
    """The smallest ok share over the Art. 17 checks: no check was ok for less of the time."""
    values = [share["ok"] for share in shares.values()]
    return min(values) if values else None


def summary_severity(summary: dict) -> Severity:
    """The severity of a `conference.summary` event, from what the venue sent up (Art. 17) and how the
    conference ran (Art. 3 overrun, call drops): critical when an Art. 17 check failed for at least
    SUMMARY_CRITICAL_FAIL_PCT of the time; warning when one failed at all, warned for at least
    SUMMARY_WARNING_WARN_PCT, the conference overran Art. 3's maximum or the call dropped; else info."""
    shares = summary.get("art17") or {}
    worst_fail = max((share.get(Verdict.FAIL.value, 0.0) for share in shares.values()), default=0.0)
    worst_warn = max((share.get(Verdict.WARN.value, 0.0) for share in shares.values()), default=0.0)
    if worst_fail >= SUMMARY_CRITICAL_FAIL_PCT:
        return Severity.CRITICAL
    if (
        worst_fail > 0
        or worst_warn >= SUMMARY_WARNING_WARN_PCT
        or summary.get("over_limit")
        or summary.get("call_drops")
    ):
        return Severity.WARNING
    return Severity.INFO
