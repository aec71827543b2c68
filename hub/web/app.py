"""`create_app(settings, engine, password)`: the board as an ASGI app (Starlette).

Server-rendered pages (Jinja2 templates in `templates/`), one stylesheet and one script of our own in
`static/` (no front-end build, nothing fetched from the internet: the office network has none), live
updates by server-sent events. The tile feed polls the database from the app's lifespan; everything
else reads the database per request, in worker threads, so a slow query never stalls the streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from hub.config.models import HubSettings
from hub.web.board import TEMPLATES, Board
from hub.web.feed import TileFeed
from hub.web.formatting import install_filters
from hub.web.metrics import BoardMetrics
from hub.web.middleware import BoardGate
from hub.web.rollcall_run import RollCalls
from hub.web.routes import api, auth, overview, patrol, reports, rollcall, schedule, venue
from hub.web.sessions import Signer, load_secret

log = logging.getLogger("hub.web")
STATIC = Path(__file__).resolve().parent / "static"


def create_app(settings: HubSettings, engine: Engine, password: str | None) -> Starlette:
    """The board over `engine` for `settings`; `password` is the broker's (roll calls, snapshot requests).
    Raises `hub.web.sessions.SecretFileError` when the session secret file is unusable."""
    web = settings.web
    templates = Jinja2Templates(directory=str(TEMPLATES))
    install_filters(templates.env)
    board = Board(
        settings=settings,
        engine=engine,
        feed=TileFeed(engine, settings.hub),
        signer=Signer(load_secret(web.session_secret_file), web.session_ttl_s),
        rollcalls=RollCalls(settings, engine, password),
        metrics=BoardMetrics(engine),
        templates=templates,
        accounts={account.name: account for account in web.account},
        password=password,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(board.feed.run(), name="board-feed")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def not_found(request: Request, _exc: Exception) -> Response:
        return board.not_found(request)

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("board: %s %s failed", request.method, request.url.path, exc_info=exc)
        return Response("internal error (logged)", status_code=500)

    app = Starlette(
        routes=[
            *auth.routes,
            *overview.routes,
            *venue.routes,
            *rollcall.routes,
            *patrol.routes,
            *schedule.routes,
            *reports.routes,
            *api.routes,
            Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"),
        ],
        middleware=[Middleware(GZipMiddleware, minimum_size=1024), Middleware(BoardGate)],
        exception_handlers={404: not_found, 500: server_error},
        lifespan=lifespan,
    )
    app.state.board = board
    return app
