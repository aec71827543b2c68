"""What the review and the evaluation both read from the hub database, computed once.

- A conference's *window* is its pushed start and planned duration (the `conference` table); for a
  conference the hub never pushed, the venues' own summaries say when it started and for how long.
- *Alerts* are the venue's events at warning or critical raised during the conference (the same
  rule the incident desk applies, hub/incidents/rules.py), whether or not a sink was configured.
- *Availability* is reconstructed from the venue's state transitions: how many seconds of a window
  the venue was `online`, out of those the hub knew its state (before the hub first heard of a venue
  its state is `never`: unknown, neither online nor offline).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from contract.findings import ART17_CHECKS
from hub.db.models import AvailabilityTransition, Conference, ConferenceSummary, EventRecord, Venue
from hub.incidents.incident import contacts_from
from hub.incidents.rules import NOT_INCIDENTS
from hub.scope import venue_in_scope

BEIJING = ZoneInfo("Asia/Shanghai")
ALERT_SEVERITIES = ("warning", "critical")
LOST_STATES = ("offline", "silent")


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds())


def conference_window(conference: Conference | None, summaries: Iterable[dict[str, Any]] = ()) -> Window | None:
    """The conference's planned window, from the hub's schedule or else from a venue's summary."""
    if conference is not None:
        return Window(conference.start, conference.start + timedelta(minutes=conference.duration_min))
    for summary in summaries:
        try:
            start = datetime.fromisoformat(summary["start"])
            minutes = float(summary.get("planned_min") or 0)
        except (KeyError, TypeError, ValueError):
            continue
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        return Window(start.astimezone(UTC), start.astimezone(UTC) + timedelta(minutes=minutes))
    return None


def year_window(year: int) -> Window:
    """A calendar year in Beijing time (an office's year), as UTC instants."""
    start = datetime(year, 1, 1, tzinfo=BEIJING)
    return Window(start.astimezone(UTC), datetime(year + 1, 1, 1, tzinfo=BEIJING).astimezone(UTC))


def venues_in_scope(session: Session, scope: str) -> dict[str, Venue]:
    """Every venue the hub knows inside `scope` (inventory or heard), keyed by venue key."""
    return {v.key: v for v in session.scalars(select(Venue).order_by(Venue.key)) if venue_in_scope(v.key, scope)}


def contacts_row(venue: Venue | None) -> dict[str, str | None]:
    """The liaison's and the technical head's name and phone, flat, for tables and spreadsheets."""
    liaison, technical = contacts_from((venue.contacts or venue.inventory_contacts) if venue else None)
    return {
        "liaison": liaison.name if liaison else None,
        "liaison_phone": liaison.phone if liaison else None,
        "technical_head": technical.name if technical else None,
        "technical_head_phone": technical.phone if technical else None,
    }


def alert_rows(session: Session, conference_id: str, window: Window | None, venues: Iterable[str]) -> list[EventRecord]:
    """Warning/critical events of `venues` during the conference: naming it, or (unnamed) inside its window."""
    keys = list(venues)
    if not keys:
        return []
    named = EventRecord.conference_id == conference_id
    condition = named
    if window is not None:
        condition = or_(
            named,
            and_(EventRecord.conference_id.is_(None), EventRecord.ts >= window.start, EventRecord.ts < window.end),
        )
    return list(
        session.scalars(
            select(EventRecord)
            .where(
                condition,
                EventRecord.venue_key.in_(keys),
                EventRecord.severity.in_(ALERT_SEVERITIES),
                EventRecord.code.not_in(NOT_INCIDENTS),
            )
            .order_by(EventRecord.ts)
        )
    )


def transitions_by_venue(
    session: Session, venues: Iterable[str], until: datetime
) -> dict[str, list[AvailabilityTransition]]:
    keys = list(venues)
    result: dict[str, list[AvailabilityTransition]] = {key: [] for key in keys}
    if not keys:
        return result
    rows = session.scalars(
        select(AvailabilityTransition)
        .where(AvailabilityTransition.venue_key.in_(keys), AvailabilityTransition.at < until)
        .order_by(AvailabilityTransition.venue_key, AvailabilityTransition.at, AvailabilityTransition.id)
    )
    for row in rows:
        result[row.venue_key].append(row)
    return result


def state_at(transitions: list[AvailabilityTransition], at: datetime, current: str) -> str:
    """The venue's state at `at`: the last transition before it, else the first one's `previous`, else
    the current state (a venue with no transitions at all never changed)."""
    state = None
    for row in transitions:
        if row.at <= at:
            state = row.state
        else:
            return state if state is not None else row.previous
    return state if state is not None else current


def state_seconds(transitions: list[AvailabilityTransition], window: Window, current: str) -> dict[str, float]:
    """Seconds of `window` spent in each state. `never` means the hub had not heard of the venue yet:
    that time is its state unknown, not a time it was offline."""
    totals: dict[str, float] = {}
    state = state_at(transitions, window.start, current)
    cursor = window.start
    for row in transitions:
        if row.at <= window.start:
            continue
        if row.at >= window.end:
            break
        totals[state] = totals.get(state, 0.0) + (row.at - cursor).total_seconds()
        state, cursor = row.state, row.at
    totals[state] = totals.get(state, 0.0) + (window.end - cursor).total_seconds()
    return {k: max(0.0, v) for k, v in totals.items() if v > 0}


def online_seconds(transitions: list[AvailabilityTransition], window: Window, current: str) -> float:
    """Seconds of `window` the venue was `online`."""
    return state_seconds(transitions, window, current).get("online", 0.0)


def known_seconds(transitions: list[AvailabilityTransition], window: Window, current: str) -> float:
    """Seconds of `window` the hub knew the venue's state (online, offline or silent)."""
    return sum(v for k, v in state_seconds(transitions, window, current).items() if k != "never")


def losses_in(transitions: list[AvailabilityTransition], window: Window) -> list[AvailabilityTransition]:
    """Transitions to offline/silent inside `window`."""
    return [r for r in transitions if window.start <= r.at < window.end and r.state in LOST_STATES]


def summaries_for(session: Session, conference_id: str) -> dict[str, ConferenceSummary]:
    rows = session.scalars(select(ConferenceSummary).where(ConferenceSummary.conference_id == conference_id))
    return {row.venue_key: row for row in rows}


def art17_columns(summaries: Iterable[dict[str, Any]]) -> list[str]:
    """The Art. 17 check ids present in these summaries, in reading order."""
    present = {check for summary in summaries for check in (summary.get("art17") or {})}
    return [c for c in ART17_CHECKS if c in present] + sorted(present - set(ART17_CHECKS))


def local_text(at: datetime | None) -> str | None:
    """A UTC instant as Beijing time text, for people (spreadsheets, tables)."""
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if at is not None else None
