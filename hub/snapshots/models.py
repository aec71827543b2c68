"""The `snapshot` table: uplink pictures the venues published (contract/snapshot.py), kept bounded.

Written by `hub.snapshots.store.store_snapshot`, which the ingest calls for the `snapshot` leaf inside
its batch transaction (so a snapshot is acknowledged to the broker only once stored, like everything
else). Read by the board: the patrol wall (the latest per venue), the venue page, and
`/snapshots/<id>.jpg`. Created by migration `0003_board`.

One row per snapshot `id`; the retained copy the ingest reads again at every start stores nothing new.
Per venue the newest row of any kind is kept, and the newest `[snapshots] keep_selftest` rows taken at
self-tests; older rows are deleted when a new one arrives, so the table stays at most
(keep_selftest + 1) rows per venue — about 1.3 MB per venue at the 60 KB bound.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.models import VENUE_KEY_LENGTH, Base


class SnapshotRecord(Base):
    """One uplink snapshot: its picture, when the frame was taken, why, and the findings judged on it."""

    __tablename__ = "snapshot"
    __table_args__ = (Index("ix_snapshot_venue_ts", "venue_key", "ts"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, doc="The snapshot's own `id`.")
    venue_key: Mapped[str] = mapped_column(String(VENUE_KEY_LENGTH), ForeignKey("venue.key", ondelete="CASCADE"))
    ts: Mapped[datetime] = mapped_column(doc="When the frame was captured (the venue's clock).")
    received_at: Mapped[datetime]
    trigger: Mapped[str] = mapped_column(String(16), doc="`selftest` or `command`.")
    selftest_id: Mapped[str | None] = mapped_column(String(64))
    conference_id: Mapped[str | None] = mapped_column(String(128))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    jpeg: Mapped[bytes] = mapped_column(LargeBinary, doc="The picture, at most 60 KiB.")
    findings: Mapped[list[Any]] = mapped_column(doc="The findings judged on the frame (contract Finding dicts).")
