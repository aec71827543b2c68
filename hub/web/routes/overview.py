"""The overview: the viewer's subtree (province → prefectures → counties → venues) as coloured tiles,
counts per prefecture, the next conference with its countdown, and `/events/overview`, the stream of
tile changes (server-sent events) that keeps it live without a reload.

A subtree of more than `EXPAND_UP_TO` venues opens with every prefecture folded: its heading and its
counts, and its tiles fetched (`/overview/prefecture/<slug>`) when someone unfolds it. Building ten
thousand tiles was most of a province's first render (2–4 s); a province office looks at the counts
first anyway. The stream carries the counts of every prefecture with each change, so a folded one
stays live too."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from hub.db.models import Conference
from hub.web.board import board_of, viewer_of
from hub.web.feed import Tile, count_states

HEARTBEAT_S = 15.0
EXPAND_UP_TO = 1500  # venues shown as tiles at once; a larger subtree opens folded by prefecture


def build_tree(tiles: list[Tile]) -> list[dict[str, Any]]:
    """Prefectures (by key), each with its counties (its own venue, county `_`, first) and their tiles."""
    prefectures: dict[str, dict[str, Any]] = {}
    for tile in sorted(tiles, key=lambda t: (t.prefecture, t.county != "_", t.county, t.key)):
        prefecture = prefectures.setdefault(
            tile.prefecture, {"slug": tile.prefecture, "label": tile.prefecture, "counties": {}, "tiles": []}
        )
        if tile.county == "_" and prefecture["label"] == tile.prefecture:
            prefecture["label"] = tile.name
        prefecture["tiles"].append(tile)
        prefecture["counties"].setdefault(tile.county, []).append(tile)
    return [
        {
            "slug": p["slug"],
            "label": p["label"],
            "counts": count_states(p["tiles"]),
            "total": len(p["tiles"]),
            "counties": [{"slug": slug, "tiles": group} for slug, group in p["counties"].items()],
        }
        for p in prefectures.values()
    ]


def next_conference(board) -> dict[str, Any] | None:
    now = datetime.now(UTC)
    with board.engine.connect() as connection:
        rows = connection.execute(
            select(Conference.id, Conference.title, Conference.start, Conference.duration_min)
            .where(Conference.start > now - timedelta(hours=3))
            .order_by(Conference.start)
            .limit(20)
        ).all()
    for row in rows:
        if row.start + timedelta(minutes=row.duration_min) > now:
            return {"id": row.id, "title": row.title, "start": row.start.isoformat(), "running": row.start <= now}
    return None


def counts_by_prefecture(tiles: list[Tile]) -> dict[str, dict[str, int]]:
    """What the stream sends with each change: every prefecture's counts, and the total under ""."""
    groups: dict[str, list[Tile]] = {}
    for tile in tiles:
        groups.setdefault(tile.prefecture, []).append(tile)
    return {"": count_states(tiles)} | {prefecture: count_states(group) for prefecture, group in groups.items()}


def _folded(request: Request, total: int) -> bool:
    """Folded by default past EXPAND_UP_TO venues; `?fold=1` / `?fold=0` asks for either."""
    wanted = request.query_params.get("fold")
    return wanted == "1" if wanted in ("0", "1") else total > EXPAND_UP_TO


async def overview(request: Request) -> Response:
    board = board_of(request)
    viewer = viewer_of(request)
    generation = board.feed.generation
    tiles = [tile for tile in list(board.feed.tiles.values()) if viewer.sees(tile.key)]
    conference = await asyncio.to_thread(next_conference, board)
    return board.render(
        request,
        "overview.html",
        tree=build_tree(tiles),
        folded=_folded(request, len(tiles)),
        total=len(tiles),
        counts=count_states(tiles),
        generation=generation,
        conference=conference,
    )


async def prefecture_tiles(request: Request) -> Response:
    """One prefecture's counties and tiles (the overview's own markup), for unfolding it; `data-generation`
    says which feed generation they show, so the page applies the changes it heard since."""
    board = board_of(request)
    viewer = viewer_of(request)
    slug = request.path_params["prefecture"]
    generation = board.feed.generation
    tiles = [t for t in list(board.feed.tiles.values()) if t.prefecture == slug and viewer.sees(t.key)]
    if not tiles:
        return board.not_found(request)
    [prefecture] = build_tree(tiles)
    html = board.fragment(request, "overview_counties.html", p=prefecture)
    return HTMLResponse(f'<div class="counties" data-generation="{generation}">{html}</div>')


async def overview_events(request: Request) -> Response:
    """`text/event-stream`: `event: tiles` with the changed tiles of the viewer's subtree, `id` = the
    feed generation (so EventSource's reconnect asks from where it stopped), `event: reload` when the
    browser is further behind than the feed remembers."""
    board = board_of(request)
    viewer = viewer_of(request)
    try:
        since = int(request.headers.get("last-event-id") or request.query_params.get("since", ""))
    except ValueError:
        since = board.feed.generation

    async def stream() -> AsyncIterator[bytes]:
        nonlocal since
        queue = board.feed.subscribe()
        board.metrics.streams.inc()
        try:
            yield b"retry: 1000\n\n"
            while True:
                keys = board.feed.changed_since(since)
                generation = board.feed.generation
                if keys is None:
                    yield f"id: {generation}\nevent: reload\ndata: {{}}\n\n".encode()
                    return
                tiles = [board.feed.tiles[k].public() for k in keys if k in board.feed.tiles and viewer.sees(k)]
                since = generation
                if tiles:
                    data = json.dumps(tiles, ensure_ascii=False, separators=(",", ":"))
                    yield f"id: {generation}\nevent: tiles\ndata: {data}\n\n".encode()
                    seen = [t for t in list(board.feed.tiles.values()) if viewer.sees(t.key)]
                    counts = json.dumps(counts_by_prefecture(seen), separators=(",", ":"))
                    yield f"event: counts\ndata: {counts}\n\n".encode()
                try:
                    await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield b": ping\n\n"
        finally:
            board.feed.unsubscribe(queue)
            board.metrics.streams.dec()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


routes = [
    Route("/", overview, methods=["GET"]),
    Route("/overview/prefecture/{prefecture}", prefecture_tiles, methods=["GET"]),
    Route("/events/overview", overview_events, methods=["GET"]),
]
