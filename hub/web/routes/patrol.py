"""The patrol wall (巡查, Art. 19): every venue's latest uplink picture in a grid, with the Art. 17
verdicts judged on that frame and the Art. 15/16 advisories beside it; filtered by prefecture and by
picture verdict. Operators may ask every venue in their subtree for a fresh picture (`cmd/snapshot`)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from contract.findings import Verdict, severity_rank
from hub.commands.requests import BrokerUnavailable, ask_venues
from hub.db.models import Venue
from hub.snapshots.models import SnapshotRecord
from hub.web.board import board_of, viewer_of

REQUEST_DEADLINE_S = 10.0
VERDICTS = ("ok", "warn", "fail", "unknown")


def _is(article: str, *numbers: int) -> bool:
    return any(f"Art. {n}" in article for n in numbers)


def picture_verdict(findings: list[dict[str, Any]]) -> str:
    """Worst Art. 17 verdict of the frame (`unknown` when it carries none)."""
    verdicts = [
        Verdict(f["verdict"]) for f in findings if _is(f.get("article", ""), 17) and f.get("verdict") in VERDICTS
    ]
    return max(verdicts, key=severity_rank).value if verdicts else "unknown"


def latest_snapshots(board) -> list[Any]:
    latest = (
        select(SnapshotRecord.venue_key, func.max(SnapshotRecord.ts).label("ts"))
        .group_by(SnapshotRecord.venue_key)
        .subquery()
    )
    with board.engine.connect() as connection:
        return connection.execute(
            select(
                SnapshotRecord.id,
                SnapshotRecord.venue_key,
                SnapshotRecord.ts,
                SnapshotRecord.width,
                SnapshotRecord.height,
                SnapshotRecord.findings,
                Venue.name,
                Venue.prefecture,
            )
            .join(latest, (latest.c.venue_key == SnapshotRecord.venue_key) & (latest.c.ts == SnapshotRecord.ts))
            .join(Venue, Venue.key == SnapshotRecord.venue_key)
            .order_by(SnapshotRecord.venue_key)
        ).all()


async def patrol(request: Request) -> Response:
    board = board_of(request)
    viewer = viewer_of(request)
    wanted_prefecture = request.query_params.get("prefecture") or ""
    wanted_verdict = request.query_params.get("verdict") or ""
    rows = [row for row in await asyncio.to_thread(latest_snapshots, board) if viewer.sees(row.venue_key)]
    prefectures = sorted({row.prefecture for row in rows})
    cards = []
    for row in rows:
        findings = row.findings or []
        verdict = picture_verdict(findings)
        if wanted_prefecture and row.prefecture != wanted_prefecture:
            continue
        if wanted_verdict and verdict != wanted_verdict:
            continue
        cards.append(
            {
                "id": row.id,
                "venue": row.venue_key,
                "name": row.name or row.venue_key,
                "ts": row.ts,
                "width": row.width,
                "height": row.height,
                "verdict": verdict,
                "art17": [f for f in findings if _is(f.get("article", ""), 17)],
                "advisories": [f for f in findings if _is(f.get("article", ""), 15, 16)],
            }
        )
    requested = request.query_params.get("asked")
    return board.render(
        request,
        "patrol.html",
        cards=cards,
        prefectures=prefectures,
        wanted_prefecture=wanted_prefecture,
        wanted_verdict=wanted_verdict,
        verdicts=VERDICTS,
        asked=(int(requested), int(request.query_params.get("answered", "0"))) if requested else None,
    )


async def request_snapshots(request: Request) -> Response:
    board = board_of(request)
    viewer = viewer_of(request)
    if not viewer.operator:
        return board.forbidden(request)
    keys = [key for key in list(board.feed.tiles) if viewer.sees(key)]
    try:
        answers, _ = await asyncio.to_thread(
            ask_venues,
            board.settings.broker,
            board.password,
            viewer.scope,
            keys,
            "snapshot",
            {},
            REQUEST_DEADLINE_S,
        )
    except BrokerUnavailable as exc:
        return board.render(request, "error.html", 503, message=str(exc))
    return RedirectResponse("/patrol?" + urlencode({"asked": len(keys), "answered": len(answers)}), status_code=303)


routes = [
    Route("/patrol", patrol, methods=["GET"]),
    Route("/patrol/request", request_snapshots, methods=["POST"]),
]
