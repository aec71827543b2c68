"""Every venue in scope as `venue-hub venues` prints it (the JSON keys are part of the hub's interface).

The state is the one the ingest recorded, with one correction made at read time: a venue recorded
`online` whose last message is older than its silence limit is shown `silent` (the ingest's watcher
may not be running — the view must not claim more than the database proves).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hub.config.models import HubSection
from hub.db.models import SelftestRecord, Venue, VenueStatus
from hub.scope import venue_in_scope

STATE_ORDER = {"offline": 0, "silent": 1, "never": 2, "online": 3}


def rfc3339(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value is not None else None


def effective_state(
    state: str, last_seen: datetime | None, interval: float | None, hub: HubSection, now: datetime
) -> str:
    if state != "online" or last_seen is None:
        return state
    limit = timedelta(seconds=hub.silent_after_intervals * (interval or hub.default_status_interval_s))
    return "silent" if now - last_seen > limit else state


def venue_rows(engine: Engine, hub: HubSection, now: datetime | None = None) -> list[dict[str, Any]]:
    """One dict per venue in scope: venue, name, state, overall, failing, last_seen, selftest, contacts."""
    now = now or datetime.now(UTC)
    latest = (
        select(SelftestRecord.venue_key, func.max(SelftestRecord.ts).label("ts"))
        .group_by(SelftestRecord.venue_key)
        .subquery()
    )
    with Session(engine) as session:
        venues = session.scalars(select(Venue).order_by(Venue.key)).all()
    with engine.connect() as connection:
        statuses = {
            row.venue_key: row
            for row in connection.execute(select(VenueStatus.venue_key, VenueStatus.overall, VenueStatus.failing))
        }
        selftests = {
            row.venue_key: row
            for row in connection.execute(
                select(
                    SelftestRecord.venue_key, SelftestRecord.trigger, SelftestRecord.verdict, SelftestRecord.ts
                ).join(latest, (latest.c.venue_key == SelftestRecord.venue_key) & (latest.c.ts == SelftestRecord.ts))
            )
        }
    rows = []
    for venue in venues:
        if not venue_in_scope(venue.key, hub.scope):
            continue
        status = statuses.get(venue.key)
        selftest = selftests.get(venue.key)
        rows.append(
            {
                "venue": venue.key,
                "name": venue.name,
                "state": effective_state(venue.state, venue.last_seen, venue.status_interval_s, hub, now),
                "overall": status.overall if status else None,
                "failing": list(status.failing) if status else [],
                "last_seen": rfc3339(venue.last_seen),
                "selftest": (
                    {"trigger": selftest.trigger, "verdict": selftest.verdict, "at": rfc3339(selftest.ts)}
                    if selftest
                    else None
                ),
                "contacts": venue.contacts or {},
            }
        )
    return rows
