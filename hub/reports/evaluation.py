"""The Art. 21–22 yearly evaluation: per venue, what its year of conferences looked like, and a score.

The year is a calendar year in Beijing time. For every venue in scope (inventory or heard), the
metrics of hub/reports/scoring.py METRICS are computed from the database — conferences scheduled,
held (summarised) and missed, roll calls answered and passed, the self-test pass rate, alerts during
conferences, the Art. 17 quality shares, and availability during scheduled conferences — then scored by
the rules file. Art. 22: a venue with a serious problem (as the rules define it) is not eligible for
the year's award, and a county venue's serious problem also removes its prefecture's venue (and so its
liaison) from the awards.

Exit codes: 0 nothing below pass and no serious problem, 1 a venue graded below pass, 2 a serious
problem, 3 no venue in scope.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from contract.findings import Message
from hub.db.models import (
    Conference,
    ConferenceSummary,
    ConferenceVenue,
    EventRecord,
    RollCall,
    RollCallRow,
    SelftestRecord,
    SeqGap,
    Venue,
)
from hub.incidents.rules import NOT_INCIDENTS
from hub.reports.common import (
    ALERT_SEVERITIES,
    Window,
    conference_window,
    contacts_row,
    losses_in,
    state_seconds,
    transitions_by_venue,
    venues_in_scope,
    year_window,
)
from hub.reports.review import SUMMARY_GRACE
from hub.reports.scoring import Rules, Scored, score
from hub.reports.texts import render


@dataclass
class VenueEvaluation:
    venue: str
    name: str | None
    level: str | None
    metrics: dict[str, float | None]
    scored: Scored
    contacts: dict[str, str | None]
    award_eligible: bool = False
    award_blocked_by: list[str] = field(default_factory=list)
    notes: list[Message] = field(default_factory=list)

    @property
    def serious(self) -> bool:
        return bool(self.scored.serious)

    def to_json(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "name": self.name,
            "level": self.level,
            "metrics": self.metrics,
            "score": self.scored.score,
            "grade": self.scored.grade,
            "below_pass": self.scored.below_pass,
            "deductions": [asdict(d) for d in self.scored.deductions],
            "serious": [asdict(s) for s in self.scored.serious],
            "award_eligible": self.award_eligible,
            "award_blocked_by": self.award_blocked_by,
            "notes": [n.model_dump() for n in self.notes],
            "contacts": self.contacts,
        }


@dataclass
class Evaluation:
    year: int
    scope: str
    rules_name: str
    rules_official: bool
    rules_path: str
    generated_at: datetime
    venues: list[VenueEvaluation]

    @property
    def exit_code(self) -> int:
        if not self.venues:
            return 3
        if any(v.serious for v in self.venues):
            return 2
        if any(v.scored.below_pass for v in self.venues):
            return 1
        return 0

    def to_json(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "scope": self.scope,
            "rules": {"name": self.rules_name, "official": self.rules_official, "path": self.rules_path},
            "generated_at": self.generated_at.isoformat(),
            "summary": {
                "venues": len(self.venues),
                "serious": sum(1 for v in self.venues if v.serious),
                "below_pass": sum(1 for v in self.venues if v.scored.below_pass),
                "award_eligible": sum(1 for v in self.venues if v.award_eligible),
            },
            "venues": [v.to_json() for v in self.venues],
        }


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole > 0 else None


def _complement(value: float | None) -> float | None:
    return None if value is None else round(100.0 - value, 1)


def build_evaluation(
    engine: Engine, year: int, scope: str, rules: Rules, rules_path: Path, now: datetime | None = None
) -> Evaluation:
    now = now or datetime.now(UTC)
    period = year_window(year)
    until = min(period.end, now)
    with Session(engine) as session:
        venues = venues_in_scope(session, scope)
        keys = list(venues)
        metrics = {key: _metrics(session, venues[key], period, until, now) for key in keys}
    evaluations = [
        VenueEvaluation(
            venue=key,
            name=venues[key].name,
            level=venues[key].level or ("prefecture" if key.split("/")[2] == "_" else "county"),
            metrics=metrics[key],
            scored=score(metrics[key], rules),
            contacts=contacts_row(venues[key]),
        )
        for key in keys
    ]
    _apply_awards(evaluations, rules)
    return Evaluation(year, scope, rules.rules.name, rules.rules.official, str(rules_path), now, evaluations)


def _apply_awards(evaluations: list[VenueEvaluation], rules: Rules) -> None:
    """Art. 22: eligible with a high enough score and no serious problem of its own or of its counties."""
    serious_counties: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item in evaluations:
        province, prefecture, county, _ = item.venue.split("/")
        if county != "_" and item.serious:
            serious_counties[(province, prefecture)].append(item.venue)
    for item in evaluations:
        province, prefecture, county, _ = item.venue.split("/")
        if county == "_":
            item.award_blocked_by = serious_counties.get((province, prefecture), [])
            for county_venue in item.award_blocked_by:
                item.notes.append(render("evaluation.county_serious", venue=county_venue))
        for problem in item.scored.serious:
            item.notes.append(render("evaluation.serious", label=problem.label, value=problem.value))
        item.award_eligible = (
            not item.serious and not item.award_blocked_by and item.scored.score >= rules.rules.award_min_score
        )


def _windows(
    session: Session, key: str, period: Window
) -> tuple[dict[str, Window], dict[str, dict], dict[str, Window]]:
    """The venue's scheduled (pushed) conference windows in the period, its summaries of the period, and
    the windows of those summaries (from the schedule, else from the summary itself)."""
    scheduled: dict[str, Window] = {}
    for conference in session.scalars(
        select(Conference)
        .join(ConferenceVenue, ConferenceVenue.conference_id == Conference.id)
        .where(ConferenceVenue.venue_key == key, Conference.start >= period.start, Conference.start < period.end)
    ):
        window = conference_window(conference)
        if window is not None:
            scheduled[conference.id] = window
    summaries: dict[str, dict] = {}
    summarised: dict[str, Window] = {}
    for row in session.scalars(select(ConferenceSummary).where(ConferenceSummary.venue_key == key)):
        conference = session.get(Conference, row.conference_id)
        window = scheduled.get(row.conference_id) or conference_window(conference, [row.payload])
        if window is not None and period.start <= window.start < period.end:
            summaries[row.conference_id] = {"severity": row.severity, **row.payload}
            summarised[row.conference_id] = window
    return scheduled, summaries, summarised


def _metrics(session: Session, venue: Venue, period: Window, until: datetime, now: datetime) -> dict[str, Any]:
    key = venue.key
    scheduled, summaries, summarised = _windows(session, key, period)
    begun = {cid: w for cid, w in scheduled.items() if w.start <= now}
    over = {cid: w for cid, w in begun.items() if now >= w.end + SUMMARY_GRACE}
    missed = [cid for cid in over if cid not in summaries]
    attended = {**summarised, **begun}  # availability: every conference it was due at or took part in

    transitions = transitions_by_venue(session, [key], until + timedelta(days=1))[key]
    current = venue.state or "never"
    observed = online = 0.0
    losses = 0
    for window in attended.values():
        clipped = Window(window.start, min(window.end, now))
        states = state_seconds(transitions, clipped, current)
        observed += sum(v for k, v in states.items() if k != "never")
        online += states.get("online", 0.0)
        losses += len(losses_in(transitions, clipped))
    availability = _pct(online, observed)

    calls = session.execute(
        select(RollCallRow.answered, RollCallRow.verdict)
        .join(RollCall, RollCall.id == RollCallRow.rollcall_id)
        .where(RollCallRow.venue_key == key, RollCall.started_at >= period.start, RollCall.started_at < period.end)
    ).all()
    selftests = session.execute(
        select(SelftestRecord.verdict, func.count())
        .where(SelftestRecord.venue_key == key, SelftestRecord.ts >= period.start, SelftestRecord.ts < period.end)
        .group_by(SelftestRecord.verdict)
    ).all()
    selftest_counts = {verdict: count for verdict, count in selftests}
    selftest_total = sum(selftest_counts.values())
    selftest_pass = _pct(selftest_counts.get("pass", 0), selftest_total)

    alerts = session.execute(
        select(EventRecord.severity, EventRecord.conference_id, EventRecord.ts).where(
            EventRecord.venue_key == key,
            EventRecord.ts >= period.start,
            EventRecord.ts < period.end,
            EventRecord.severity.in_(ALERT_SEVERITIES),
            EventRecord.code.not_in(NOT_INCIDENTS),
        )
    ).all()
    during = [
        severity
        for severity, conference_id, ts in alerts
        if conference_id is not None or any(w.start <= ts < w.end for w in attended.values())
    ]
    ok_shares = [float(s["art17_min_ok_pct"]) for s in summaries.values() if s.get("art17_min_ok_pct") is not None]
    art17_ok = round(sum(ok_shares) / len(ok_shares), 1) if ok_shares else None
    gaps = session.scalar(
        select(func.count())
        .select_from(SeqGap)
        .where(SeqGap.venue_key == key, SeqGap.detected_at >= period.start, SeqGap.detected_at < period.end)
    )
    return {
        "conferences_scheduled": len(begun),
        "conferences_held": len(summaries),
        "conferences_missed": len(missed),
        "conferences_critical": sum(1 for s in summaries.values() if s.get("severity") == "critical"),
        "conferences_warning": sum(1 for s in summaries.values() if s.get("severity") == "warning"),
        "conferences_over_limit": sum(1 for s in summaries.values() if s.get("over_limit")),
        "call_drops": sum(int(s.get("call_drops") or 0) for s in summaries.values()),
        "device_incidents": sum(int(s.get("incidents") or 0) for s in summaries.values()),
        "rollcalls": len(calls),
        "rollcalls_answered": sum(1 for answered, _ in calls if answered),
        "rollcalls_passed": sum(1 for answered, verdict in calls if answered and verdict == "pass"),
        "rollcalls_warned": sum(1 for answered, verdict in calls if answered and verdict == "warn"),
        "rollcalls_failed": sum(1 for answered, verdict in calls if answered and verdict == "fail"),
        "rollcalls_silent": sum(1 for answered, _ in calls if not answered),
        "selftests": selftest_total,
        "selftests_passed": selftest_counts.get("pass", 0),
        "selftest_pass_pct": selftest_pass,
        "selftest_not_pass_pct": _complement(selftest_pass),
        "incidents": len(during),
        "incidents_critical": sum(1 for s in during if s == "critical"),
        "incidents_warning": sum(1 for s in during if s == "warning"),
        "availability_losses": losses,
        "art17_ok_pct": art17_ok,
        "art17_not_ok_pct": _complement(art17_ok),
        "availability_pct": availability,
        "availability_lost_pct": _complement(availability),
        "event_gaps": int(gaps or 0),
    }
