"""Machine-readable endpoints: `/api/venues` (exactly `venue-hub venues --json`, over the viewer's
subtree), `/healthz` (the database answers) and `/metrics` (Prometheus)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.views.venues import venue_rows
from hub.web.board import board_of, viewer_of


async def api_venues(request: Request) -> Response:
    board = board_of(request)
    hub = board.settings.hub.model_copy(update={"scope": viewer_of(request).scope})
    rows = await asyncio.to_thread(venue_rows, board.engine, hub)
    return JSONResponse(rows)


async def api_venue(request: Request) -> Response:
    board = board_of(request)
    key = request.path_params["key"]
    if not viewer_of(request).sees(key):
        return board.not_found(request)
    hub = board.settings.hub.model_copy(update={"scope": viewer_of(request).scope})
    rows = [row for row in await asyncio.to_thread(venue_rows, board.engine, hub) if row["venue"] == key]
    return JSONResponse(rows[0]) if rows else board.not_found(request)


def _database_answers(board) -> None:
    with board.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


async def healthz(request: Request) -> Response:
    board = board_of(request)
    try:
        await asyncio.to_thread(_database_answers, board)
    except Exception as exc:
        return JSONResponse({"ok": False, "database": str(exc)[:200]}, status_code=503)
    feed = board.feed
    return JSONResponse(
        {
            "ok": True,
            "database": "ok",
            "venues": len(feed.tiles),
            "feed": feed.generation,
            "feed_poll_s": round(feed.poll_seconds / feed.polls, 4) if feed.polls else None,
            "push_lag_s": feed.lag_percentiles(),
        }
    )


async def metrics(request: Request) -> Response:
    board = board_of(request)
    for name in ("ok", "warn", "fail", "unknown", "offline", "silent", "never"):
        board.metrics.venues.labels(name).set(0)
    for tile in list(board.feed.tiles.values()):
        board.metrics.venues.labels(tile.css).inc()
    for lag in list(board.feed.last_lag_s):
        board.metrics.tile_lag.observe(lag)
    board.feed.last_lag_s.clear()
    data = await asyncio.to_thread(board.metrics.render)
    return Response(data, media_type="text/plain; version=0.0.4; charset=utf-8")


routes = [
    Route("/api/venues", api_venues, methods=["GET"]),
    Route("/api/venues/{key:path}", api_venue, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
