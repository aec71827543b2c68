"""Sign in, sign out, and the language switch.

A wrong account and a wrong password get the same answer (no account enumeration), each checked with
the same scrypt cost (an unknown account is checked against a dummy hash), and counted in /metrics.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import anyio
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hub.web.board import LANGUAGE_COOKIE, board_of
from hub.web.passwords import hash_password, verify_password
from hub.web.sessions import SESSION_COOKIE
from hub.web.texts import LANGUAGES

_DUMMY_HASH = hash_password("no account has this password")


def safe_next(target: str | None) -> str:
    """Only a path on this board (never `//host` or `https://…`): no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def login_page(request: Request) -> Response:
    board = board_of(request)
    if request.scope["state"].get("viewer") is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    notice = "login.expired" if request.query_params.get("expired") else None
    return board.render(request, "login.html", next=safe_next(request.query_params.get("next")), notice=notice)


async def login_submit(request: Request) -> Response:
    board = board_of(request)
    form = parse_qs((await request.body()).decode("utf-8", errors="replace"), max_num_fields=20)
    name = form.get("name", [""])[0].strip()[:64]
    password = form.get("password", [""])[0][:1024]
    target = safe_next(form.get("next", ["/"])[0])
    account = board.accounts.get(name)
    stored = account.password_hash if account is not None and account.password_hash else _DUMMY_HASH
    ok = await anyio.to_thread.run_sync(verify_password, password, stored)
    if not ok or account is None or account.password_hash is None:
        board.metrics.logins.labels("refused").inc()
        return board.render(request, "login.html", 401, next=target, notice="login.failed", name=name)
    board.metrics.logins.labels("ok").inc()
    response = RedirectResponse(target, status_code=303)
    secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE,
        board.signer.issue(account.name, account.password_hash),
        max_age=board.signer.ttl_s,
        httponly=True,
        samesite="strict",
        secure=secure,
    )
    return response


async def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


async def language(request: Request) -> Response:
    chosen = request.path_params["language"]
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    if chosen in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 86400, samesite="strict")
    return response


routes = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/lang/{language}", language, methods=["GET"]),
]
