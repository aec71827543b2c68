"""Keep an incoming snapshot: the one call the ingest makes for the `snapshot` leaf.

```python
from hub.snapshots.store import store_snapshot
stored = store_snapshot(connection, place.key, incoming.payload, properties, received_at,
                        keep_selftest=settings.snapshots.keep_selftest)
```

inside the batch's transaction (`connection` is the batch's); `SnapshotRejected` (a `ValueError`)
means the payload is refused — count it by `exc.reason`, log `exc.detail`, acknowledge it, go on.
The retained copy read again stores nothing (`False`), so redeliveries are harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from hub.db.models import Venue
from hub.snapshots.decode import SnapshotRejected, decode_snapshot
from hub.snapshots.models import SnapshotRecord


def store_snapshot(
    connection: Connection,
    venue_key: str,
    payload: bytes,
    properties: Mapping[str, object] | None,
    received_at: datetime,
    *,
    keep_selftest: int = 20,
) -> bool:
    """Validate and store one snapshot of `venue_key`; True when it was new. Prunes that venue's history
    to the newest snapshot plus the newest `keep_selftest` taken at self-tests."""
    snapshot = decode_snapshot(venue_key, payload, properties)
    if connection.execute(select(Venue.key).where(Venue.key == venue_key)).first() is None:
        raise SnapshotRejected("unknown_venue", f"venue {venue_key} is not known to the hub yet")
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    inserted = connection.execute(
        dialect.insert(SnapshotRecord.__table__)
        .values(
            id=snapshot.id,
            venue_key=venue_key,
            ts=snapshot.ts,
            received_at=received_at,
            trigger=snapshot.trigger,
            selftest_id=snapshot.selftest_id,
            conference_id=snapshot.conference_id,
            width=snapshot.width,
            height=snapshot.height,
            jpeg=snapshot.jpeg_bytes(),
            findings=[finding.model_dump(mode="json") for finding in snapshot.findings],
        )
        .on_conflict_do_nothing()
        .returning(SnapshotRecord.id)
    ).first()
    if inserted is None:  # a redelivery, or the retained copy read again
        return False
    _prune(connection, venue_key, keep_selftest)
    return True


def _prune(connection: Connection, venue_key: str, keep_selftest: int) -> None:
    rows = connection.execute(
        select(SnapshotRecord.id, SnapshotRecord.trigger)
        .where(SnapshotRecord.venue_key == venue_key)
        .order_by(SnapshotRecord.ts.desc(), SnapshotRecord.received_at.desc())
    ).all()
    keep = {rows[0].id} if rows else set()
    keep.update([row.id for row in rows if row.trigger == "selftest"][:keep_selftest])
    doomed = [row.id for row in rows if row.id not in keep]
    if doomed:
        connection.execute(delete(SnapshotRecord).where(SnapshotRecord.id.in_(doomed)))
