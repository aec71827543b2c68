"""The roll call page (点名, Art. 14): start one (operators), watch its rows fill in live, read earlier ones.

Starting calls `hub.commands.rollcall.run_rollcall` over the operator's own subtree (through
`hub.web.rollcall_run`), so the board's roll call is the CLI's: same targets, same deadline rule (a venue
that has not answered by then is silent), same rows stored in `rollcall`/`rollcall_row`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from hub.commands.rollcall import summarise
from hub.config.scope_filter import scopes_overlap
from hub.db.models import Conference, RollCall, RollCallRow, Venue
from hub.web.board import board_of, viewer_of

CHECK_EVERY_S = 0.2


def _conferences(board) -> list[Any]:
    since = datetime.now(UTC) - timedelta(days=2)
    with board.engine.connect() as connection:
        return connection.execute(
            select(Conference.id, Conference.title, Conference.start)
            .where(Conference.start > since)
            .order_by(Conference.start)
            .limit(50)
        ).all()


def _history(board, scope: str) -> list[Any]:
    with board.engine.connect() as connection:
        rows = connection.execute(select(RollCall).order_by(RollCall.started_at.desc()).limit(100)).all()
    return [row for row in rows if scopes_overlap(row.scope, scope)][:20]


async def rollcall_page(request: Request) -> Response:
    board = board_of(request)
    viewer = viewer_of(request)
    conferences = await asyncio.to_thread(_conferences, board)
    history = await asyncio.to_thread(_history, board, viewer.scope)
    running = [run for run in board.rollcalls.runs.values() if scopes_overlap(run.scope, viewer.scope)]
    return board.render(
        request, "rollcall.html", conferences=conferences, history=history, runs=running[::-1], run=None, rows=None
    )


async def rollcall_start(request: Request) -> Response:
    board = board_of(request)
    viewer = viewer_of(request)
    if not viewer.operator:
        return board.forbidden(request, "rollcall.operators_only")
    form = parse_qs((await request.body()).decode("utf-8", errors="replace"), max_num_fields=20)
    conference_id = (form.get("conference", [""])[0] or "").strip()[:128] or None
    framing = form.get("framing", [""])[0] == "1"
    run = await asyncio.to_thread(
        board.rollcalls.start,
        viewer.scope,
        viewer.name,
        conference_id,
        framing,
        board.settings.web.rollcall_deadline_s,
    )
    return RedirectResponse(f"/rollcall/live/{run.id}", status_code=303)


def _visible(rows: list[dict[str, Any]], viewer) -> list[dict[str, Any]]:
    return [row for row in rows if viewer.sees(row["venue"])]


async def rollcall_live(request: Request) -> Response:
    board = board_of(request)
    viewer = viewer_of(request)
    run = board.rollcalls.runs.get(request.path_params["id"])
    if run is None or not scopes_overlap(run.scope, viewer.scope):
        return board.not_found(request)
    rows = _visible(list(run.rows.values()), viewer)
    return board.render(
        request,
        "rollcall.html",
        run=run,
        rows=rows,
        summary=summarise(rows) if run.done else None,
        history=[],
        conferences=[],
        runs=[],
    )


async def rollcall_events(request: Request) -> Response:
    """`event: rows` with every visible row each time one changes; `event: done` at the end."""
    board = board_of(request)
    viewer = viewer_of(request)
    run = board.rollcalls.runs.get(request.path_params["id"])
    if run is None or not scopes_overlap(run.scope, viewer.scope):
        return board.not_found(request)

    async def stream() -> AsyncIterator[bytes]:
        seen = -1
        while True:
            if run.version != seen:
                seen = run.version
                rows = _visible(list(run.rows.values()), viewer)
                data: dict[str, Any] = {"rows": rows, "done": run.done, "error": run.error}
                if run.done:
                    data |= {"summary": summarise(rows), "stored_id": run.stored_id}
                kind = "done" if run.done else "rows"
                yield f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n".encode()
                if run.done:
                    return
            await asyncio.sleep(CHECK_EVERY_S)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _stored(board, rollcall_id: str) -> tuple[Any, list[dict[str, Any]]] | None:
    with board.engine.connect() as connection:
        call = connection.execute(select(RollCall).where(RollCall.id == rollcall_id)).first()
        if call is None:
            return None
        rows = connection.execute(
            select(RollCallRow, Venue.name)
            .join(Venue, Venue.key == RollCallRow.venue_key)
            .where(RollCallRow.rollcall_id == rollcall_id)
            .order_by(RollCallRow.venue_key)
        ).all()
    return call, [
        {
            "venue": r.RollCallRow.venue_key,
            "name": r.name,
            "answered": r.RollCallRow.answered,
            "verdict": r.RollCallRow.verdict,
            "failed_items": r.RollCallRow.failed_items,
            "seconds": r.RollCallRow.seconds,
            "liaison": r.RollCallRow.liaison,
        }
        for r in rows
    ]


async def rollcall_stored(request: Request) -> Response:
    board = board_of(request)
    viewer = viewer_of(request)
    found = await asyncio.to_thread(_stored, board, request.path_params["id"][:64])
    if found is None or not scopes_overlap(found[0].scope, viewer.scope):
        return board.not_found(request)
    call, rows = found
    rows = _visible(rows, viewer)
    return board.render(
        request,
        "rollcall.html",
        run=None,
        stored=call,
        rows=rows,
        summary=summarise(rows),
        history=[],
        conferences=[],
        runs=[],
    )


routes = [
    Route("/rollcall", rollcall_page, methods=["GET"]),
    Route("/rollcall", rollcall_start, methods=["POST"]),
    Route("/rollcall/live/{id}", rollcall_live, methods=["GET"]),
    Route("/events/rollcall/{id}", rollcall_events, methods=["GET"]),
    Route("/rollcall/{id}", rollcall_stored, methods=["GET"]),
]
