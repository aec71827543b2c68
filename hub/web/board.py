"""`Board`: what every route shares — settings, database, the live feed, the signer, the templates, the
roll calls, the metrics — and the small helpers every page uses (who is looking, render, refuse)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.templating import Jinja2Templates

from hub.config.models import HubSettings
from hub.config.web import AccountConfig
from hub.web.access import Viewer
from hub.web.feed import TileFeed
from hub.web.metrics import BoardMetrics
from hub.web.rollcall_run import RollCalls
from hub.web.sessions import Signer
from hub.web.texts import LANGUAGES, text

TEMPLATES = Path(__file__).resolve().parent / "templates"
LANGUAGE_COOKIE = "board_lang"


@dataclass
class Board:
    settings: HubSettings
    engine: Engine
    feed: TileFeed
    signer: Signer
    rollcalls: RollCalls
    metrics: BoardMetrics
    templates: Jinja2Templates
    accounts: dict[str, AccountConfig]
    password: str | None

    def language(self, request: Request) -> str:
        chosen = request.cookies.get(LANGUAGE_COOKIE)
        return chosen if chosen in LANGUAGES else self.settings.web.language

    def words(self, request: Request) -> dict[str, Any]:
        """What every template speaks with: `t(code, **fields)` in the viewer's language, and `lang`."""
        language = self.language(request)

        def t(code: str, **fields: object) -> str:
            return text(code, language, **fields)

        return {"t": t, "lang": language}

    def fragment(self, request: Request, template: str, **context: Any) -> str:
        """A piece of a page (a patrol card) drawn as the page would draw it, for a live stream."""
        return self.templates.get_template(template).render({**self.words(request), **context})

    def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        viewer: Viewer | None = request.scope.get("state", {}).get("viewer")
        nonce = request.scope.get("state", {}).get("csrf_nonce", "")
        return self.templates.TemplateResponse(
            request,
            template,
            {
                **self.words(request),
                "viewer": viewer,
                "csrf": self.signer.csrf_token(nonce) if nonce else "",
                "path": request.url.path,
                **context,
            },
            status_code=status_code,
        )

    def not_found(self, request: Request) -> Response:
        """The same answer for "does not exist" and "not yours to see" (no existence leaks)."""
        if wants_json(request):
            return JSONResponse({"error": "not_found"}, status_code=404)
        return self.render(request, "error.html", 404, message=text("error.not_found", self.language(request)))

    def forbidden(self, request: Request, code: str = "error.forbidden") -> Response:
        if wants_json(request):
            return JSONResponse({"error": code}, status_code=403)
        return self.render(request, "error.html", 403, message=text(code, self.language(request)))


def board_of(request: Request) -> Board:
    return request.app.state.board


def viewer_of(request: Request) -> Viewer:
    """The signed-in viewer (the middleware has refused the request already when there is none)."""
    return request.scope["state"]["viewer"]


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/snapshots/", "/events")) or "application/json" in request.headers.get(
        "accept", ""
    )
