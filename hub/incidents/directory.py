"""The desk's lookups in the hub database: a venue's name and contacts, and its scheduled conferences.

"Scheduled for" means the office pushed the conference to that venue (`venue-hub schedule push`
writes a `conference_venue` row per venue), whether or not the venue has answered yet: a venue that
never took the schedule and then goes offline before the conference is exactly what an office must hear.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hub.db.models import Conference, ConferenceVenue, Venue
from hub.incidents.incident import ConferenceRef
from hub.incidents.rules import NOT_READY_STATES, ScheduledConference, VenueInfo

LONGEST_CONFERENCE = timedelta(hours=12)  # bounds the index range scanned for conferences in progress


def _ref(conference: Conference) -> ConferenceRef:
    return ConferenceRef(conference.id, conference.title or None, conference.start)


def _end(conference: Conference) -> datetime:
    return conference.start + timedelta(minutes=conference.duration_min)


class DatabaseDirectory:
    def __init__(self, engine: Engine):
        self.engine = engine

    def venue(self, venue_key: str) -> VenueInfo | None:
        with Session(self.engine) as session:
            venue = session.get(Venue, venue_key)
            if venue is None:
                return None
            return VenueInfo(venue.name or venue_key, dict(venue.contacts or venue.inventory_contacts or {}))

    def conference(self, conference_id: str) -> ConferenceRef | None:
        with Session(self.engine) as session:
            conference = session.get(Conference, conference_id)
            return _ref(conference) if conference is not None else None

    def _scheduled(self, session: Session, venue_key: str, start: datetime, end: datetime) -> list[Conference]:
        rows = session.scalars(
            select(Conference)
            .join(ConferenceVenue, ConferenceVenue.conference_id == Conference.id)
            .where(
                ConferenceVenue.venue_key == venue_key,
                Conference.start <= end,
                Conference.start >= start - LONGEST_CONFERENCE,
            )
            .order_by(Conference.start)
        ).all()
        return [c for c in rows if _end(c) >= start]

    def conference_at(self, venue_key: str, at: datetime) -> ConferenceRef | None:
        with Session(self.engine) as session:
            running = [c for c in self._scheduled(session, venue_key, at, at) if c.start <= at < _end(c)]
            return _ref(running[0]) if running else None

    def conferences_between(self, venue_key: str, start: datetime, end: datetime) -> list[ScheduledConference]:
        with Session(self.engine) as session:
            return [ScheduledConference(_ref(c), _end(c)) for c in self._scheduled(session, venue_key, start, end)]

    def not_ready(self, start: datetime, end: datetime) -> list[tuple[str, str, ScheduledConference]]:
        with Session(self.engine) as session:
            rows = session.execute(
                select(Conference, Venue.key, Venue.state)
                .join(ConferenceVenue, ConferenceVenue.conference_id == Conference.id)
                .join(Venue, Venue.key == ConferenceVenue.venue_key)
                .where(
                    Conference.start <= end,
                    Conference.start >= start - LONGEST_CONFERENCE,
                    Venue.state.in_(NOT_READY_STATES),
                )
            ).all()
            return [
                (key, state, ScheduledConference(_ref(conference), _end(conference)))
                for conference, key, state in rows
                if _end(conference) > start
            ]
