"""The Article 14 timeline: from a conference schedule to the moments the venue must act.

Art. 14: before a national (State Council) conference the venue powers on ≥ 90 min ahead and the
national main venue roll-calls 60 min ahead; before a provincial one the province tests every venue
at 15:00 the day before, and on the day the venue powers on ≥ 60 min ahead and is roll-called.
Art. 15: seated 15 min before. Art. 3: a province-wide conference lasts ≤ 1 h (never > 1 h 30), a
follow-up right after a national one ≤ 30 min.

Pure and clock-injected: `Timeline.due(now)` says which checkpoints have come, exactly once each,
so a test can run a whole day of a venue in milliseconds.

Total by construction: a `Conference` starts in the years 2000–2199 (as written, in its own
offset) and lasts at most a day, so every checkpoint — the eve 15:00, T − 90 min, the end plus
the summary delay, any time zone's local time — is a representable datetime. One rule in the
model serves the config, the .ics file and the hub's cmd/schedule alike: a conference at the edge
of the datetime range (year 1 or 9999) is refused where it is read, never met as an
OverflowError later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from contract.conference import Conference


class CheckpointKind(StrEnum):
    EVE_DEBUG_SELFTEST = "eve_debug_selftest"  # provincial: 15:00 the day before
    POWER_ON_SELFTEST = "power_on_selftest"  # national: T-90 min
    ROLLCALL_SELFTEST = "rollcall_selftest"  # all kinds: T-60 min
    SEATING_CHECK = "seating_check"  # T-15 min, framing per Art. 15
    MEETING_START = "meeting_start"
    MEETING_END = "meeting_end"
    POST_MEETING_SUMMARY = "post_meeting_summary"  # Art. 20


BEFORE_START = {
    CheckpointKind.EVE_DEBUG_SELFTEST,
    CheckpointKind.POWER_ON_SELFTEST,
    CheckpointKind.ROLLCALL_SELFTEST,
    CheckpointKind.SEATING_CHECK,
}
SUMMARY_DELAY = timedelta(minutes=5)
EVE_DEBUG_TIME = time(15, 0)

# Art. 3: (normal, absolute maximum) duration in minutes; None = not limited by these measures.
DURATION_LIMITS: dict[str, tuple[int, int] | None] = {
    "national": None,  # set by the State Council, not by the provincial measures
    "provincial": (60, 90),
    "department": (60, 90),
    "followup": (30, 30),
}


@dataclass(frozen=True)
class Checkpoint:
    conference_id: str
    kind: CheckpointKind
    at: datetime

    @property
    def key(self) -> tuple[str, str]:
        return (self.conference_id, self.kind.value)


def checkpoints(conference: Conference, zone: ZoneInfo) -> list[Checkpoint]:
    """Every checkpoint the rules imply for one conference, in time order."""
    start = conference.start
    result = []
    if conference.kind == "provincial":
        local_start = start.astimezone(zone)
        eve = datetime.combine(local_start.date() - timedelta(days=1), EVE_DEBUG_TIME, tzinfo=zone)
        result.append(Checkpoint(conference.id, CheckpointKind.EVE_DEBUG_SELFTEST, eve))
    if conference.kind == "national":
        result.append(Checkpoint(conference.id, CheckpointKind.POWER_ON_SELFTEST, start - timedelta(minutes=90)))
    result += [
        Checkpoint(conference.id, CheckpointKind.ROLLCALL_SELFTEST, start - timedelta(minutes=60)),
        Checkpoint(conference.id, CheckpointKind.SEATING_CHECK, start - timedelta(minutes=15)),
        Checkpoint(conference.id, CheckpointKind.MEETING_START, start),
        Checkpoint(conference.id, CheckpointKind.MEETING_END, conference.end),
        Checkpoint(conference.id, CheckpointKind.POST_MEETING_SUMMARY, conference.end + SUMMARY_DELAY),
    ]
    return sorted(result, key=lambda checkpoint: checkpoint.at)


@dataclass
class Due:
    """What `Timeline.due` found: checkpoints to run now, and ones passed over (and why)."""

    run: list[Checkpoint] = field(default_factory=list)
    skipped: list[tuple[Checkpoint, str]] = field(default_factory=list)


class Timeline:
    """All conferences' checkpoints; each fires once. `fired` can be persisted across restarts."""

    def __init__(self, conferences: list[Conference], zone: ZoneInfo, fired: set[tuple[str, str]] | None = None):
        self.zone = zone
        self.conferences = {conference.id: conference for conference in conferences}
        self.fired: set[tuple[str, str]] = set(fired or ())
        self.points = sorted((p for c in conferences for p in checkpoints(c, zone)), key=lambda p: (p.at, p.key))

    def due(self, now: datetime) -> Due:
        """Checkpoints whose time has come and that have not fired yet.

        A pre-start checkpoint missed while the agent was down (or across a clock jump) runs at
        once if its conference has not begun; once the conference has begun it is skipped (a
        roll-call test after the start would disturb the meeting). Start, end and summary always
        fire, late if need be, so the record of the meeting is complete.
        """
        found = Due()
        for point in self.points:
            if point.at > now or point.key in self.fired:
                continue
            self.fired.add(point.key)
            conference = self.conferences[point.conference_id]
            if point.kind in BEFORE_START and now >= conference.start:
                found.skipped.append((point, "missed: the conference had already begun"))
            else:
                found.run.append(point)
        return found

    def next_at(self, now: datetime) -> datetime | None:
        """When the next unfired checkpoint is due (to sleep until then)."""
        return next((p.at for p in self.points if p.key not in self.fired and p.at > now), None)

    def current(self, now: datetime) -> list[Conference]:
        """Conferences in progress at `now` (overlaps are possible: both are listed)."""
        return [c for c in self.conferences.values() if c.start <= now < c.end]

    def following(self, now: datetime) -> Conference | None:
        """The next conference to start after `now`."""
        return min((c for c in self.conferences.values() if c.start > now), key=lambda c: c.start, default=None)

    def in_focus(self, now: datetime) -> Conference | None:
        """The conference a self-test run now serves (whose far end it probes): the one in progress
        (the first, if two overlap), else the next one. The one picker for `venue-agent selftest`, the
        daemon's `cmd/selftest` and so `selftest --via-broker`."""
        current = self.current(now)
        return current[0] if current else self.following(now)
