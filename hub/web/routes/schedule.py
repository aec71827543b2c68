"""The schedule page (会议安排, Art. 14): the conferences this office pushed, who accepted them, and —
for operators — adding, changing or withdrawing one, pushed to every venue of the account's subtree.

A push from the board is `venue-hub schedule push` (`hub.schedule.push.push_schedule`) with the
account's subtree as the office: the same targets, the same `cmd/schedule`, the same rows stored in
`conference`/`conference_venue`. `cmd/schedule` replaces the pushing office's schedule at each venue
(agent/schedule/offices.py), so the board always pushes the office's *whole* upcoming schedule — what
the page lists plus the change — and leaves every other office's conferences standing.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from pydantic import ValidationError
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from contract.conference import KINDS, Conference
from contract.secrets import SecretError
from hub.commands.requests import BrokerUnavailable
from hub.config.scope_filter import scopes_overlap
from hub.db.models import Conference as ConferenceRow
from hub.db.models import ConferenceVenue
from hub.schedule.push import PushResult, push_schedule
from hub.web.board import board_of, viewer_of
from hub.web.formatting import BEIJING
from hub.web.texts import text

KEPT_AFTER_END = timedelta(days=1)  # as the agent keeps them on its timeline (agent/schedule/keeper.py)
FIELDS = ("id", "title", "kind", "date", "time", "duration_min", "far_end")


def _upcoming(board, scope: str) -> tuple[list[Any], list[Any]]:
    """(this office's conferences, other offices' that reach into its subtree), not long ended."""
    cutoff = datetime.now(UTC) - KEPT_AFTER_END
    with board.engine.connect() as connection:
        rows = connection.execute(select(ConferenceRow).order_by(ConferenceRow.start)).all()
    rows = [row for row in rows if row.start + timedelta(minutes=row.duration_min) > cutoff]
    own = [row for row in rows if row.scope == scope]
    others = [row for row in rows if row.scope != scope and scopes_overlap(row.scope, scope)]
    return own, others


def _answers(board, ids: list[str], viewer) -> dict[str, dict[str, int]]:
    """Per conference: how many visible venues accepted, refused, did not answer."""
    if not ids:
        return {}
    with board.engine.connect() as connection:
        rows = connection.execute(
            select(ConferenceVenue.conference_id, ConferenceVenue.venue_key, ConferenceVenue.accepted).where(
                ConferenceVenue.conference_id.in_(ids)
            )
        ).all()
    counts: dict[str, dict[str, int]] = {i: {"accepted": 0, "refused": 0, "silent": 0} for i in ids}
    for row in rows:
        if viewer.sees(row.venue_key):
            kind = "silent" if row.accepted is None else ("accepted" if row.accepted else "refused")
            counts[row.conference_id][kind] += 1
    return counts


def _page(board, request: Request, **context: Any) -> Response:
    viewer = viewer_of(request)
    own, others = _upcoming(board, viewer.scope)
    answers = _answers(board, [row.id for row in own], viewer)
    defaults = {"kind": "provincial", "duration_min": "60", "date": "", "time": "09:00"}
    return board.render(
        request,
        "schedule.html",
        own=own,
        others=others,
        answers=answers,
        kinds=KINDS,
        form=context.pop("form", defaults),
        **{"result": None, "problems": [], **context},
    )


async def schedule_page(request: Request) -> Response:
    board = board_of(request)
    return await asyncio.to_thread(_page, board, request)


def _slug(title: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "-", title).strip("-")[:40]


Problem = tuple[str, dict[str, str]]  # a text code of hub/web/texts.py and its fields


def conference_from_form(form: dict[str, str]) -> tuple[Conference | None, list[Problem]]:
    """The conference an operator typed (local Beijing time), or the problems, each naming its field."""
    problems: list[Problem] = []
    try:
        local = datetime.strptime(f"{form.get('date', '')} {form.get('time', '')}", "%Y-%m-%d %H:%M")
    except ValueError:
        return None, [("schedule.bad_time", {})]
    start = local.replace(tzinfo=BEIJING)
    conference_id = form.get("id", "").strip() or f"{local:%Y%m%d-%H%M}-{_slug(form.get('title', '')) or 'conf'}"
    try:
        conference = Conference(
            id=conference_id,
            title=form.get("title", "").strip(),
            kind=form.get("kind", ""),  # type: ignore[arg-type]
            start=start,
            duration_min=form.get("duration_min", "") or 60,  # type: ignore[arg-type]
            far_end=form.get("far_end", "").strip() or None,
        )
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            field = ".".join(str(p) for p in error["loc"])
            problems.append(("schedule.invalid", {"field": field, "error": error["msg"]}))
        return None, problems
    if start < datetime.now(UTC) - KEPT_AFTER_END:
        return None, [("schedule.past", {})]
    return conference, problems


def _wire(row: Any) -> Conference:
    """A stored conference as the venues were sent it (the payload column is exactly what went out)."""
    return Conference.model_validate(row.payload)


def _push(board, viewer, conferences: list[Conference]) -> PushResult:
    hub = board.settings.hub.model_copy(update={"scope": viewer.scope})
    settings = board.settings.model_copy(update={"hub": hub})
    return push_schedule(settings, board.engine, board.password, conferences, board.settings.web.rollcall_deadline_s)


async def schedule_change(request: Request) -> Response:
    """POST /schedule: `action=add` (a new or changed conference) or `action=withdraw&id=…`."""
    board = board_of(request)
    viewer = viewer_of(request)
    if not viewer.operator:
        return board.forbidden(request, "schedule.operators_only")
    parsed = parse_qs((await request.body()).decode("utf-8", errors="replace"), max_num_fields=30)
    form = {name: (parsed.get(name, [""])[0] or "")[:512] for name in (*FIELDS, "action")}
    own, _ = await asyncio.to_thread(_upcoming, board, viewer.scope)
    current = [_wire(row) for row in own]
    if form["action"] == "withdraw":
        wanted = [c for c in current if c.id != form["id"]]
        if len(wanted) == len(current):
            problems = [("schedule.no_such", {"id": form["id"]})]
            return await asyncio.to_thread(_page, board, request, problems=problems)
    elif form["action"] == "add":
        conference, problems = conference_from_form(form)
        if conference is None:
            return await asyncio.to_thread(_page, board, request, form=form, problems=problems)
        wanted = [c for c in current if c.id != conference.id] + [conference]
    else:
        detail = f"action: {form['action']!r}"
        message = text("error.bad_request", board.language(request), detail=detail)
        return board.render(request, "error.html", 400, message=message)
    try:
        result = await asyncio.to_thread(_push, board, viewer, wanted)
    except (BrokerUnavailable, SecretError) as exc:
        problems = [("schedule.broker_down", {"error": str(exc)})]
        return await asyncio.to_thread(_page, board, request, form=form, problems=problems)
    rows = [row for row in result.rows if viewer.sees(row["venue"])]
    return await asyncio.to_thread(_page, board, request, result=rows)


routes = [
    Route("/schedule", schedule_page, methods=["GET"]),
    Route("/schedule", schedule_change, methods=["POST"]),
]
