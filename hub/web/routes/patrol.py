"""The patrol wall (巡查, Art. 19): every venue's latest uplink picture in a grid, with the Art. 17
verdicts judged on that frame and the Art. 15/16 advisories beside it; filtered by prefecture and by
picture verdict. Operators may ask every venue in their subtree for a fresh picture (`cmd/snapshot`).

The wall stays live: `/events/patrol` streams each picture stored after the page was rendered (read
every `PATROL_POLL_S` by `received_at`) as the card the page itself would have drawn, so a patrol
watches the pictures come in after "ask every venue" or a round of self-tests without reloading."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from contract.findings import Verdict, severity_rank
from hub.commands.requests import BrokerUnavailable, ask_venues
from hub.db.models import Venue
from hub.snapshots.models import SnapshotRecord
from hub.web.board import board_of, viewer_of

REQUEST_DEADLINE_S = 10.0
VERDICTS = ("ok", "warn", "fail", "unknown")
PATROL_POLL_S = 2.0  # one query of the (bounded) snapshot table per open wall
HEARTBEAT_S = 15.0


def _is(article: str, *numbers: int) -> bool:
    return any(f"Art. {n}" in article for n in numbers)


def picture_verdict(findings: list[dict[str, Any]]) -> str:
    """Worst Art. 17 verdict of the frame (`unknown` when it carries none)."""
    verdicts = [
        Verdict(f["verdict"]) for f in findings if _is(f.get("article", ""), 17) and f.get("verdict") in VERDICTS
    ]
    return max(verdicts, key=severity_rank).value if verdicts else "unknown"


def _columns():
    return select(
        SnapshotRecord.id,
        SnapshotRecord.venue_key,
        SnapshotRecord.ts,
        SnapshotRecord.received_at,
        SnapshotRecord.width,
        SnapshotRecord.height,
        SnapshotRecord.findings,
        Venue.name,
        Venue.prefecture,
    ).join(Venue, Venue.key == SnapshotRecord.venue_key)


def latest_snapshots(board) -> list[Any]:
    latest = (
        select(SnapshotRecord.venue_key, func.max(SnapshotRecord.ts).label("ts"))
        .group_by(SnapshotRecord.venue_key)
        .subquery()
    )
    with board.engine.connect() as connection:
        return connection.execute(
            _columns()
            .join(latest, (latest.c.venue_key == SnapshotRecord.venue_key) & (latest.c.ts == SnapshotRecord.ts))
            .order_by(SnapshotRecord.venue_key)
        ).all()


def stored_since(board, since: datetime) -> list[Any]:
    """Pictures stored after `since`, the newest per venue (by the frame's time)."""
    with board.engine.connect() as connection:
        rows = connection.execute(
            _columns().where(SnapshotRecord.received_at > since).order_by(SnapshotRecord.ts)
        ).all()
    return list({row.venue_key: row for row in rows}.values())


def card(row: Any) -> dict[str, Any]:
    """What one figure of the wall shows (patrol_card.html draws it, at render time and when streamed)."""
    findings = row.findings or []
    return {
        "id": row.id,
        "venue": row.venue_key,
        "name": row.name or row.venue_key,
        "prefecture": row.prefecture,
        "ts": row.ts,
        "width": row.width,
        "height": row.height,
        "verdict": picture_verdict(findings),
        "art17": [f for f in findings if _is(f.get("article", ""), 17)],
        "advisories": [f for f in findings if _is(f.get("article", ""), 15, 16)],
    }


def _shown(card_: dict[str, Any], prefecture: str, verdict: str) -> bool:
    return (not prefecture or card_["prefecture"] == prefecture) and (not verdict or card_["verdict"] == verdict)


def _since(text: str) -> datetime:
    """The stream's starting point as a browser sends it back; one without an offset is taken as UTC
    (the columns compare and bind aware datetimes only: hub/db/models.py UtcDateTime)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def patrol(request: Request) -> Response:
    board = board_of(request)
    viewer = viewer_of(request)
    wanted_prefecture = request.query_params.get("prefecture") or ""
    wanted_verdict = request.query_params.get("verdict") or ""
    rendered_at = datetime.now(UTC)
    rows = [row for row in await asyncio.to_thread(latest_snapshots, board) if viewer.sees(row.venue_key)]
    prefectures = sorted({row.prefecture for row in rows})
    cards = [c for c in map(card, rows) if _shown(c, wanted_prefecture, wanted_verdict)]
    since = max([row.received_at for row in rows], default=rendered_at)
    requested = request.query_params.get("asked")
    return board.render(
        request,
        "patrol.html",
        cards=cards,
        prefectures=prefectures,
        wanted_prefecture=wanted_prefecture,
        wanted_verdict=wanted_verdict,
        verdicts=VERDICTS,
        stream="/events/patrol?"
        + urlencode({"since": since.isoformat(), "prefecture": wanted_prefecture, "verdict": wanted_verdict}),
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


async def patrol_events(request: Request) -> Response:
    """`text/event-stream`: `event: card` with `{"venue", "html"}` — the figure to put in place of that
    venue's (or to add) — and `{"venue", "html": null}` when its new picture no longer passes the
    wall's filter. Only venues of the viewer's subtree; `id` is the newest `received_at` sent."""
    board = board_of(request)
    viewer = viewer_of(request)
    prefecture = request.query_params.get("prefecture") or ""
    verdict = request.query_params.get("verdict") or ""
    try:
        since = _since(request.headers.get("last-event-id") or request.query_params["since"])
    except (KeyError, ValueError):
        since = datetime.now(UTC)

    async def stream() -> AsyncIterator[bytes]:
        nonlocal since
        board.metrics.streams.inc()
        quiet_s = 0.0
        try:
            yield b"retry: 2000\n\n"
            while True:
                rows = [
                    row for row in await asyncio.to_thread(stored_since, board, since) if viewer.sees(row.venue_key)
                ]
                for row in rows:
                    since = max(since, row.received_at)
                    figure = card(row)
                    html = (
                        board.fragment(request, "patrol_card.html", c=figure)
                        if _shown(figure, prefecture, verdict)
                        else None
                    )
                    data = json.dumps({"venue": row.venue_key, "html": html}, ensure_ascii=False)
                    yield f"id: {since.isoformat()}\nevent: card\ndata: {data}\n\n".encode()
                quiet_s = 0.0 if rows else quiet_s + PATROL_POLL_S
                if quiet_s >= HEARTBEAT_S:
                    quiet_s = 0.0
                    yield b": ping\n\n"
                await asyncio.sleep(PATROL_POLL_S)
        finally:
            board.metrics.streams.dec()

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


routes = [
    Route("/patrol", patrol, methods=["GET"]),
    Route("/events/patrol", patrol_events, methods=["GET"]),
    Route("/patrol/request", request_snapshots, methods=["POST"]),
]
