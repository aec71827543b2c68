"""Which venues a command goes to: every venue the database knows in scope, or a conference's venues."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hub.config.models import HubSection
from hub.db.models import ConferenceVenue, Venue
from hub.scope import venue_in_scope
from hub.views.venues import effective_state


def venues_in_scope(engine: Engine, hub: HubSection, only: list[str] | None = None) -> list[dict[str, Any]]:
    """Venue key, name, state now (online/offline/silent/never) and contacts, ordered by key."""
    now = datetime.now(UTC)
    with Session(engine) as session:
        rows = session.scalars(select(Venue).order_by(Venue.key)).all()
    wanted = set(only) if only else None
    return [
        {
            "venue": v.key,
            "name": v.name,
            "state": effective_state(v.state, v.last_seen, v.status_interval_s, hub, now),
            "contacts": v.contacts or {},
        }
        for v in rows
        if venue_in_scope(v.key, hub.scope) and (wanted is None or v.key in wanted)
    ]


def conference_venue_keys(engine: Engine, conference_id: str) -> list[str]:
    """The venues a conference was pushed to (whether or not they accepted it)."""
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(ConferenceVenue.venue_key)
                .where(ConferenceVenue.conference_id == conference_id)
                .order_by(ConferenceVenue.venue_key)
            ).scalars()
        )
