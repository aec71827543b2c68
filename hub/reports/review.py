"""The Art. 20 review of one conference: per venue in scope, how it took part.

Who is reviewed: every venue in this hub's scope that the conference was pushed to (`conference_venue`),
plus any that sent a summary of it although the hub did not push the schedule. For each:

- its Art. 20 summary as the agent recorded it (Art. 17 time shares per check, device incidents, call
  drops, actual vs allowed duration per Art. 3), or *no summary* — the venue never joined;
- the alerts it raised during the conference and the times it went offline/silent during it;
- its answer to the latest roll call held for this conference (Art. 14);
- a verdict, worst of: no summary after the conference (fail); the summary's own severity (critical →
  fail, warning → warn); lost during the conference (warn, fail if there is no summary either); the roll
  call unanswered or failed (fail) or warned (warn). Exit codes follow it: 0 all ok, 1 a warning,
  2 a failure, 3 nothing known of the conference.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from contract.findings import Message
from hub.db.models import Conference, ConferenceVenue, RollCall, RollCallRow
from hub.reports.common import (
    Window,
    alert_rows,
    art17_columns,
    conference_window,
    contacts_row,
    losses_in,
    summaries_for,
    transitions_by_venue,
    venues_in_scope,
)
from hub.reports.texts import render
from hub.scope import venue_in_scope

# The agent summarises once the codec has left the call, at most 3 h after the planned end
# (agent/schedule/conference_record.py MAX_SUMMARY_WAIT), a few minutes after the end otherwise.
SUMMARY_GRACE = timedelta(hours=3, minutes=15)
RANK = {"ok": 0, "unknown": 1, "warn": 2, "fail": 3}
EXIT_CODES = {"ok": 0, "warn": 1, "fail": 2, "unknown": 3}


@dataclass
class VenueReview:
    venue: str
    name: str | None
    level: str | None
    scheduled: bool
    accepted: bool | None
    joined: str  # "yes", "no" (never joined) or "pending" (the conference is not over yet)
    summary_severity: str | None = None
    summary_source: str | None = None
    actual_min: float | None = None
    planned_min: float | None = None
    normal_limit_min: float | None = None
    allowed_min: float | None = None
    duration_source: str | None = None
    over_limit: bool | None = None
    art17: dict[str, dict[str, float]] = field(default_factory=dict)
    art17_min_ok_pct: float | None = None
    device_incidents: int | None = None
    incident_list: list[dict[str, Any]] = field(default_factory=list)
    call_drops: int | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)
    lost: list[dict[str, Any]] = field(default_factory=list)
    rollcall: dict[str, Any] | None = None
    contacts: dict[str, str | None] = field(default_factory=dict)
    verdict: str = "ok"
    reasons: list[Message] = field(default_factory=list)

    def grade(self, verdict: str, reason: Message) -> None:
        """Add a reason; the verdict becomes the worse of the two."""
        self.reasons.append(reason)
        if RANK[verdict] > RANK[self.verdict]:
            self.verdict = verdict


@dataclass
class Review:
    conference_id: str
    title: str | None
    kind: str | None
    start: datetime | None
    end: datetime | None
    scope: str
    known: bool  # the hub has the conference's schedule or at least one summary of it
    rollcall_id: str | None
    rollcall_at: datetime | None
    venues: list[VenueReview]
    art17_checks: list[str]

    @property
    def verdict(self) -> str:
        if not self.known or not self.venues:
            return "unknown"
        return max((v.verdict for v in self.venues), key=RANK.__getitem__, default="ok")

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def counts(self) -> dict[str, int]:
        result = {"total": len(self.venues), "ok": 0, "warn": 0, "fail": 0, "unknown": 0}
        for venue in self.venues:
            result[venue.verdict] += 1
        result["never_joined"] = sum(1 for v in self.venues if v.joined == "no")
        return result

    def to_json(self) -> dict[str, Any]:
        def venue_json(v: VenueReview) -> dict[str, Any]:
            data = asdict(v)
            data["reasons"] = [r.model_dump() for r in v.reasons]
            return data

        return {
            "conference": {
                "id": self.conference_id,
                "title": self.title,
                "kind": self.kind,
                "start": self.start.isoformat() if self.start else None,
                "end": self.end.isoformat() if self.end else None,
            },
            "scope": self.scope,
            "known": self.known,
            "verdict": self.verdict,
            "summary": self.counts(),
            "rollcall": {
                "id": self.rollcall_id,
                "at": self.rollcall_at.isoformat() if self.rollcall_at else None,
            },
            "art17_checks": self.art17_checks,
            "venues": [venue_json(v) for v in self.venues],
        }


def _latest_rollcall(session: Session, conference_id: str) -> RollCall | None:
    return session.scalars(
        select(RollCall).where(RollCall.conference_id == conference_id).order_by(RollCall.started_at.desc()).limit(1)
    ).first()


def build_review(engine: Engine, conference_id: str, scope: str, now: datetime | None = None) -> Review:
    """The review of `conference_id` for the venues of `scope`, as the database has it now."""
    now = now or datetime.now(UTC)
    with Session(engine) as session:
        conference = session.get(Conference, conference_id)
        summaries = {k: s for k, s in summaries_for(session, conference_id).items() if venue_in_scope(k, scope)}
        window = conference_window(conference, (s.payload for s in summaries.values()))
        pushed = {
            row.venue_key: row
            for row in session.scalars(select(ConferenceVenue).where(ConferenceVenue.conference_id == conference_id))
            if venue_in_scope(row.venue_key, scope)
        }
        known_venues = venues_in_scope(session, scope)
        keys = sorted(set(pushed) | set(summaries))
        rollcall = _latest_rollcall(session, conference_id)
        calls: dict[str, RollCallRow] = {}
        if rollcall is not None:
            calls = {
                row.venue_key: row
                for row in session.scalars(select(RollCallRow).where(RollCallRow.rollcall_id == rollcall.id))
            }
        alerts = alert_rows(session, conference_id, window, keys)
        transitions = transitions_by_venue(session, keys, window.end if window else now)
        first = next(iter(summaries.values()), None)
        title = conference.title if conference is not None else (first.payload.get("title") if first else None)
        kind = conference.kind if conference is not None else (first.payload.get("kind") if first else None)
        reviews = [
            _review_venue(
                key,
                known_venues.get(key),
                pushed.get(key),
                summaries.get(key),
                calls.get(key),
                [a for a in alerts if a.venue_key == key],
                losses_in(transitions.get(key, []), window) if window else [],
                window,
                now,
            )
            for key in keys
        ]
    return Review(
        conference_id=conference_id,
        title=title or None,
        kind=kind,
        start=window.start if window else None,
        end=window.end if window else None,
        scope=scope,
        known=conference is not None or bool(summaries),
        rollcall_id=rollcall.id if rollcall else None,
        rollcall_at=rollcall.started_at if rollcall else None,
        venues=reviews,
        art17_checks=art17_columns(s.payload for s in summaries.values()),
    )


def _review_venue(
    key, venue, pushed, summary, call, alerts, losses, window: Window | None, now: datetime
) -> VenueReview:
    over = window is None or now >= window.end + SUMMARY_GRACE
    row = VenueReview(
        venue=key,
        name=venue.name if venue else None,
        level=venue.level if venue else None,
        scheduled=pushed is not None,
        accepted=pushed.accepted if pushed else None,
        joined="yes" if summary is not None else ("no" if over else "pending"),
        contacts=contacts_row(venue),
    )
    if pushed is None:
        row.reasons.append(render("review.not_scheduled"))
    if summary is None:
        row.grade("fail" if over else "unknown", render("review.no_summary" if over else "review.summary_pending"))
    else:
        data = summary.payload
        row.summary_severity = summary.severity
        row.summary_source = summary.source
        for name in ("actual_min", "planned_min", "normal_limit_min", "allowed_min", "duration_source"):
            setattr(row, name, data.get(name))
        row.over_limit = bool(data.get("over_limit"))
        row.art17 = dict(data.get("art17") or {})
        row.art17_min_ok_pct = data.get("art17_min_ok_pct")
        row.device_incidents = int(data.get("incidents") or 0)
        row.incident_list = list(data.get("incident_list") or [])
        row.call_drops = int(data.get("call_drops") or 0)
        worst_fail = max((float(s.get("fail", 0.0)) for s in row.art17.values()), default=0.0)
        if summary.severity == "critical":
            row.grade("fail", render("review.summary_critical", fail_pct=round(worst_fail, 1)))
        elif summary.severity == "warning":
            row.grade("warn", render("review.summary_warning"))
        if row.over_limit:
            row.grade("warn", render("review.over_limit", actual=row.actual_min, allowed=row.allowed_min))
        if row.call_drops:
            row.grade("warn", render("review.call_drops", drops=row.call_drops))
    row.alerts = [
        {
            "id": a.id,
            "at": a.ts.isoformat(),
            "code": a.code,
            "severity": a.severity,
            "check": a.check_id,
            "message": (a.payload.get("message") or {}),
        }
        for a in alerts
    ]
    if row.alerts:
        critical = sum(1 for a in alerts if a.severity == "critical")
        row.reasons.append(render("review.alerts", count=len(alerts), critical=critical))
    row.lost = [{"at": t.at.isoformat(), "state": t.state, "reason": t.reason} for t in losses]
    if losses:
        row.grade("warn" if summary is not None else "fail", render("review.lost_during", count=len(losses)))
    if call is not None:
        row.rollcall = {
            "answered": call.answered,
            "verdict": call.verdict,
            "failed_items": list(call.failed_items or []),
            "seconds": call.seconds,
            "state": call.state,
            "error_code": call.error_code,
        }
        if not call.answered:
            row.grade("fail", render("review.rollcall_silent"))
        elif call.verdict == "fail":
            row.grade("fail", render("review.rollcall_fail", items=", ".join(call.failed_items or []) or "—"))
        elif call.verdict == "warn":
            row.grade("warn", render("review.rollcall_warn"))
    return row
