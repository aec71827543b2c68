"""When something is an incident (Art. 8(5): report problems in the conference at once).

Two rules, pure functions of what the desk looked up, so they are tested without a broker or a database:

1. **An event at warning or critical during a conference.** "During" means the event names the
   conference (`conference_id`: the agent stamps it on everything raised while a conference is in
   progress, and on the pre-conference self-tests it runs for one), or — for an agent that does not
   know the schedule — the event's time falls inside the window of a conference the hub pushed to
   that venue. The post-conference summary (`conference.summary`) is not an incident: it repeats, after
   the fact, what was already reported as it happened, and belongs to the Art. 20 review.
2. **A venue lost shortly before its conference.** A venue turning `offline` (its Will, or a clean
   stop) or `silent` (nothing heard for longer than its status interval allows) within
   PRE_CONFERENCE_WINDOW before the start of a conference it is scheduled for, or while that
   conference is running. Keyed per conference, venue and state, so a flapping venue is one incident.
3. **A venue not ready when the window opens.** A venue already `offline`, `silent` or `never` heard
   from when a conference it is scheduled for comes within PRE_CONFERENCE_WINDOW (the desk sweeps for
   these every SWEEP_EVERY_S): it went down earlier, so rule 2 never saw it. Same key as rule 2, so a
   venue is reported once per conference and state whichever rule sees it first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from contract.payloads import Event, Severity
from hub.incidents.incident import ConferenceRef, Incident, contacts_from
from hub.incidents.texts import STATE_NAMES, render

PRE_CONFERENCE_WINDOW = timedelta(hours=2)
INCIDENT_SEVERITIES = frozenset({Severity.WARNING, Severity.CRITICAL})
NOT_INCIDENTS = frozenset({"conference.summary"})
LOST_STATES = frozenset({"offline", "silent"})
NOT_READY_STATES = frozenset({"offline", "silent", "never"})


@dataclass(frozen=True)
class VenueInfo:
    """What the hub knows of a venue: its display name and its Art. 7 contacts."""

    name: str
    contacts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScheduledConference:
    ref: ConferenceRef
    end: datetime


class Directory(Protocol):
    """The hub database as the desk reads it (hub/incidents/directory.py implements it)."""

    def venue(self, venue_key: str) -> VenueInfo | None: ...

    def conference(self, conference_id: str) -> ConferenceRef | None: ...

    def conference_at(self, venue_key: str, at: datetime) -> ConferenceRef | None:
        """A conference the venue is scheduled for that is in progress at `at`."""
        ...

    def conferences_between(self, venue_key: str, start: datetime, end: datetime) -> list[ScheduledConference]:
        """Conferences the venue is scheduled for whose window [start, end] overlaps the given one."""
        ...

    def not_ready(self, start: datetime, end: datetime) -> list[tuple[str, str, ScheduledConference]]:
        """(venue, state, conference) for every venue in NOT_READY_STATES scheduled for a conference
        that starts in [start, end] or is running at `start`."""
        ...


def is_candidate_event(event: Event) -> bool:
    """The cheap test the desk makes before queueing anything (it runs on the ingest's thread)."""
    return event.severity in INCIDENT_SEVERITIES and event.code not in NOT_INCIDENTS


def event_incident(
    venue_key: str, event: Event, info: VenueInfo | None, conference: ConferenceRef | None
) -> Incident | None:
    """Rule 1: the incident for `event`, or None. `conference` is what the desk found for it."""
    if not is_candidate_event(event) or conference is None:
        return None
    name = info.name if info else event.venue.name
    liaison, technical = contacts_from(info.contacts if info else None)
    return Incident(
        key=f"event:{event.id}",
        kind="event",
        code="incident.event_in_conference",
        severity=event.severity.value,
        venue=venue_key,
        venue_name=name,
        at=event.ts,
        message=render(
            "incident.event_in_conference", venue_name=name, detail_zh=event.message.zh, detail_en=event.message.en
        ),
        detail=event.message,
        conference=conference,
        liaison=liaison,
        technical_head=technical,
        event=event.model_dump(mode="json", by_alias=True),
        extra={"event_code": event.code, "check": event.check},
    )


def state_incident(
    venue_key: str, state: str, at: datetime, info: VenueInfo | None, upcoming: list[ScheduledConference]
) -> Incident | None:
    """Rule 2: the incident for a venue turning `state` at `at`, or None.

    `upcoming` are the venue's conferences overlapping [at, at + PRE_CONFERENCE_WINDOW]; the one that
    starts first (or is running) is named."""
    if state not in LOST_STATES:
        return None
    relevant = [
        c for c in upcoming if c.end > at and c.ref.start is not None and c.ref.start - at <= PRE_CONFERENCE_WINDOW
    ]
    if not relevant:
        return None
    conference = min(relevant, key=lambda c: c.ref.start or at).ref
    assert conference.start is not None
    minutes = max(0, math.ceil((conference.start - at).total_seconds() / 60))
    name = info.name if info else venue_key
    liaison, technical = contacts_from(info.contacts if info else None)
    running = conference.start <= at
    code = f"incident.{state}_{'during' if running else 'before'}_conference"
    return Incident(
        key=f"availability:{conference.id}:{venue_key}:{state}",
        kind="availability",
        code=code,
        # lost during the conference, or within half an hour of its start: nobody can fix it in time
        severity="critical" if running or minutes <= 30 else "warning",
        venue=venue_key,
        venue_name=name,
        at=at,
        message=render(code, venue_name=name, title=conference.title or conference.id, minutes=minutes),
        conference=conference,
        liaison=liaison,
        technical_head=technical,
        extra={"state": state, "minutes_before_start": minutes, "during_conference": running},
    )


def not_ready_incident(
    venue_key: str, state: str, at: datetime, info: VenueInfo | None, conference: ScheduledConference
) -> Incident | None:
    """Rule 3: the incident for a venue found `state` at `at` with `conference` due within the window."""
    start = conference.ref.start
    if state not in NOT_READY_STATES or start is None or conference.end <= at or start - at > PRE_CONFERENCE_WINDOW:
        return None
    minutes = max(0, math.ceil((start - at).total_seconds() / 60))
    name = info.name if info else venue_key
    liaison, technical = contacts_from(info.contacts if info else None)
    zh, en = STATE_NAMES[state]
    return Incident(
        key=f"availability:{conference.ref.id}:{venue_key}:{state}",
        kind="availability",
        code="incident.not_ready_before_conference",
        severity="critical" if minutes <= 30 else "warning",
        venue=venue_key,
        venue_name=name,
        at=at,
        message=render(
            "incident.not_ready_before_conference",
            venue_name=name,
            title=conference.ref.title or conference.ref.id,
            minutes=minutes,
            state_zh=zh,
            state_en=en,
        ),
        conference=conference.ref,
        liaison=liaison,
        technical_head=technical,
        extra={"state": state, "minutes_before_start": minutes, "found_by": "sweep"},
    )
