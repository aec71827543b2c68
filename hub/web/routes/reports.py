"""The Art. 20 review of a conference and the Art. 21–22 yearly evaluation: the CLI's reports
(`hub.reports.review.build_review`, `hub.reports.evaluation.build_evaluation`) over the viewer's own
subtree, as tables, with the same spreadsheets (`hub.reports.xlsx`) to download."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.db.models import Conference
from hub.reports.evaluation import build_evaluation
from hub.reports.review import build_review
from hub.reports.scoring import load_rules
from hub.reports.texts import HEADINGS, VERDICT_NAMES
from hub.web.board import board_of, viewer_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _conferences(board) -> list:
    with board.engine.connect() as connection:
        return connection.execute(
            select(Conference.id, Conference.title, Conference.start).order_by(Conference.start.desc()).limit(200)
        ).all()


def _heading(language: str):
    def heading(name: str) -> str:
        zh, en = HEADINGS[name]
        return en if language == "en" else zh

    return heading


def _verdict_word(language: str):
    def word(verdict: str) -> str:
        zh, en = VERDICT_NAMES.get(verdict, (verdict, verdict))
        return en if language == "en" else zh

    return word


async def review_page(request: Request) -> Response:
    board = board_of(request)
    viewer = viewer_of(request)
    conference_id = (request.query_params.get("conference") or "").strip()[:128]
    conferences = await asyncio.to_thread(_conferences, board)
    review = await asyncio.to_thread(build_review, board.engine, conference_id, viewer.scope) if conference_id else None
    language = board.language(request)
    return board.render(
        request,
        "review.html",
        conferences=conferences,
        conference_id=conference_id,
        review=review,
        heading=_heading(language),
        verdict_word=_verdict_word(language),
    )


def _xlsx(write, report) -> bytes:
    with tempfile.TemporaryDirectory(prefix="board-xlsx-") as directory:
        path = Path(directory) / "report.xlsx"
        write(report, path)
        return path.read_bytes()


def _download(data: bytes, filename: str) -> Response:
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )


async def review_xlsx(request: Request) -> Response:
    from hub.reports.xlsx import write_review

    board = board_of(request)
    conference_id = (request.query_params.get("conference") or "").strip()[:128]
    if not conference_id:
        return board.not_found(request)
    review = await asyncio.to_thread(build_review, board.engine, conference_id, viewer_of(request).scope)
    data = await asyncio.to_thread(_xlsx, write_review, review)
    return _download(data, f"review-{conference_id}.xlsx")


def _year(request: Request) -> int:
    try:
        year = int(request.query_params.get("year", ""))
    except ValueError:
        return datetime.now(UTC).year
    return year if 2000 <= year <= 2199 else datetime.now(UTC).year


def _evaluate(board, year: int, scope: str):
    rules, used = load_rules(board.settings.evaluation.rules)  # the config's [evaluation] rules, else the default
    return build_evaluation(board.engine, year, scope, rules, used, now=datetime.now(UTC)), rules


async def evaluation_page(request: Request) -> Response:
    board = board_of(request)
    year = _year(request)
    evaluation, _ = await asyncio.to_thread(_evaluate, board, year, viewer_of(request).scope)
    language = board.language(request)
    return board.render(request, "evaluation.html", evaluation=evaluation, year=year, heading=_heading(language))


async def evaluation_xlsx(request: Request) -> Response:
    from hub.reports.xlsx import write_evaluation

    board = board_of(request)
    year = _year(request)
    evaluation, rules = await asyncio.to_thread(_evaluate, board, year, viewer_of(request).scope)
    data = await asyncio.to_thread(_xlsx, lambda report, path: write_evaluation(report, rules, path), evaluation)
    return _download(data, f"evaluation-{year}.xlsx")


routes = [
    Route("/review", review_page, methods=["GET"]),
    Route("/review.xlsx", review_xlsx, methods=["GET"]),
    Route("/evaluation", evaluation_page, methods=["GET"]),
    Route("/evaluation.xlsx", evaluation_xlsx, methods=["GET"]),
]
