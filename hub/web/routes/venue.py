"""One venue: state, current checks (verdict, value, threshold, article), the last self-test, recent
events, devices, contacts (Art. 7), the latest uplink snapshot — and `/snapshots/<id>.jpg`, the picture
itself. A venue outside the viewer's subtree is answered 404 like one that does not exist."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.db.models import EventRecord, SelftestRecord, Venue, VenueStatus
from hub.snapshots.models import SnapshotRecord
from hub.views.venues import effective_state
from hub.web.board import board_of, viewer_of

RECENT_EVENTS = 20
VERDICT_ORDER = {"fail": 0, "warn": 1, "unknown": 2, "ok": 3}


def venue_details(board, key: str) -> dict[str, Any] | None:
    hub = board.settings.hub
    with board.engine.connect() as connection:
        venue = connection.execute(select(Venue).where(Venue.key == key)).first()
        if venue is None:
            return None
        status = connection.execute(select(VenueStatus).where(VenueStatus.venue_key == key)).first()
        selftest = connection.execute(
            select(SelftestRecord).where(SelftestRecord.venue_key == key).order_by(SelftestRecord.ts.desc()).limit(1)
        ).first()
        events = connection.execute(
            select(EventRecord.ts, EventRecord.code, EventRecord.severity, EventRecord.payload)
            .where(EventRecord.venue_key == key)
            .order_by(EventRecord.ts.desc())
            .limit(RECENT_EVENTS)
        ).all()
        snapshot = connection.execute(
            select(
                SnapshotRecord.id,
                SnapshotRecord.ts,
                SnapshotRecord.trigger,
                SnapshotRecord.width,
                SnapshotRecord.height,
                SnapshotRecord.findings,
            )
            .where(SnapshotRecord.venue_key == key)
            .order_by(SnapshotRecord.ts.desc())
            .limit(1)
        ).first()
    payload = status.payload if status else {}
    checks = sorted(
        (payload.get("checks") or {}).items(), key=lambda item: (VERDICT_ORDER.get(item[1].get("verdict"), 9), item[0])
    )
    return {
        "key": key,
        "name": venue.name or key,
        "state": effective_state(venue.state, venue.last_seen, venue.status_interval_s, hub, datetime.now(UTC)),
        "overall": status.overall if status else None,
        "last_seen": venue.last_seen,
        "checks": checks,
        "devices": payload.get("devices") or {},
        "contacts": venue.contacts or {},
        "selftest": selftest.payload if selftest else None,
        "events": [
            {"ts": e.ts, "code": e.code, "severity": e.severity, "message": (e.payload or {}).get("message") or {}}
            for e in events
        ],
        "snapshot": snapshot,
    }


async def venue_page(request: Request) -> Response:
    board = board_of(request)
    key = request.path_params["key"]
    if not viewer_of(request).sees(key):
        return board.not_found(request)
    details = await asyncio.to_thread(venue_details, board, key)
    if details is None:
        return board.not_found(request)
    return board.render(request, "venue.html", venue=details)


def snapshot_jpeg(board, snapshot_id: str) -> tuple[str, bytes] | None:
    with board.engine.connect() as connection:
        row = connection.execute(
            select(SnapshotRecord.venue_key, SnapshotRecord.jpeg).where(SnapshotRecord.id == snapshot_id)
        ).first()
    return (row.venue_key, row.jpeg) if row else None


async def snapshot_image(request: Request) -> Response:
    board = board_of(request)
    found = await asyncio.to_thread(snapshot_jpeg, board, request.path_params["id"][:64])
    if found is None or not viewer_of(request).sees(found[0]):
        return board.not_found(request)
    return Response(
        found[1],
        media_type="image/jpeg",
        headers={
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },  # no other account reads it from a cache
    )


routes = [
    Route("/venue/{key:path}", venue_page, methods=["GET"]),
    Route("/snapshots/{id}.jpg", snapshot_image, methods=["GET"]),
]
