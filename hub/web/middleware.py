"""The gate every request passes: the CSRF cookie, who is asking, and the CSRF check of every POST.

A pure ASGI middleware (not Starlette's BaseHTTPMiddleware, which buffers and so would break the
event streams). In order:

1. **CSRF cookie.** A request without `board_csrf` gets a fresh random one on its response; pages put
   `HMAC(secret, cookie)` in their forms.
2. **Who.** From a trusted proxy address (`[web.proxy] trusted`) the proxy's header names the account;
   from anywhere else that header is ignored and the signed session cookie decides. An account the proxy
   names but the board does not know is refused (403), not silently made a viewer.
3. **POST.** The body (at most `MAX_BODY` bytes) must carry the token (`csrf` field or `X-CSRF-Token`
   header) for the cookie the request brought; otherwise 403 and nothing runs. The body is then handed
   on to the route unchanged.
4. **Signed in?** Everything but the sign-in page, static files, `/healthz` and `/metrics` needs a
   viewer: a page redirects to the sign-in page, an API call gets 401.
"""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.web.access import from_trusted_proxy, viewer_of
from hub.web.sessions import CSRF_COOKIE, SESSION_COOKIE, fingerprint, new_nonce

PUBLIC = ("/login", "/static/", "/healthz", "/metrics", "/lang/")
MAX_BODY = 64 * 1024


def _cookies(scope: Scope) -> dict[str, str]:
    header = next((v for k, v in scope.get("headers", []) if k == b"cookie"), b"")
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header.decode("latin-1"))
    except Exception:  # a malformed cookie header is no cookie
        return {}
    return {key: morsel.value for key, morsel in jar.items()}


def _header(scope: Scope, name: bytes) -> str | None:
    value = next((v for k, v in scope.get("headers", []) if k == name), None)
    return value.decode("latin-1") if value is not None else None


class BoardGate:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        board = scope["app"].state.board
        state: dict[str, Any] = scope.setdefault("state", {})
        cookies = _cookies(scope)
        nonce = cookies.get(CSRF_COOKIE)
        fresh_nonce = None
        if not nonce or len(nonce) > 64:
            nonce = fresh_nonce = new_nonce()
        state["csrf_nonce"] = nonce
        path: str = scope["path"]

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and fresh_nonce:
                headers = list(message.get("headers", []))
                cookie = f"{CSRF_COOKIE}={fresh_nonce}; Path=/; HttpOnly; SameSite=Strict"
                headers.append((b"set-cookie", cookie.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        viewer, refusal = self._viewer(scope, board, cookies)
        state["viewer"] = viewer
        if refusal is not None:
            await refusal(scope, receive, send_with_cookie)
            return

        if scope["method"] == "POST":
            body, too_large = await _read_body(receive)
            if too_large:
                await Response("request body too large", status_code=413)(scope, receive, send_with_cookie)
                return
            token = _header(scope, b"x-csrf-token")
            if token is None:
                try:
                    token = parse_qs(body.decode("utf-8"), max_num_fields=200).get("csrf", [None])[0]
                except (UnicodeDecodeError, ValueError):
                    token = None
            if fresh_nonce or not board.signer.csrf_ok(cookies.get(CSRF_COOKIE), token):
                board.metrics.csrf_refused.inc()
                request = Request(scope, receive)
                response = board.forbidden(request, "error.csrf")
                await response(scope, receive, send_with_cookie)
                return
            receive = _replay(body)

        if viewer is None and not path.startswith(PUBLIC):
            if path.startswith(("/api/", "/snapshots/", "/events")) or scope["method"] != "GET":
                response: Response = JSONResponse({"error": "not_signed_in"}, status_code=401)
            else:
                expired = "&expired=1" if board.signer.expired(cookies.get(SESSION_COOKIE)) else ""
                query = scope.get("query_string", b"").decode("latin-1")
                target = path + (f"?{query}" if query else "")
                response = RedirectResponse(f"/login?next={quote(target, safe='')}{expired}", status_code=303)
            await response(scope, receive, send_with_cookie)
            return
        await self.app(scope, receive, send_with_cookie)

    def _viewer(self, scope: Scope, board, cookies: dict[str, str]):
        settings = board.settings
        proxy = settings.web.proxy
        client = scope.get("client")
        if proxy is not None and from_trusted_proxy(client[0] if client else None, settings):
            name = _header(scope, proxy.header.lower().encode("latin-1"))
            if name:
                account = board.accounts.get(name.strip())
                if account is None:
                    board.metrics.logins.labels("proxy_unknown").inc()
                    body = json.dumps({"error": "proxy_user_unknown", "account": name[:64]}, ensure_ascii=False)
                    return None, Response(body, status_code=403, media_type="application/json")
                return viewer_of(account, settings, "proxy"), None
        claim = board.signer.read(cookies.get(SESSION_COOKIE))
        if claim is None:
            return None, None
        account = board.accounts.get(claim.name)
        if account is None or account.password_hash is None or fingerprint(account.password_hash) != claim.fingerprint:
            return None, None
        return viewer_of(account, settings, "password"), None


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
