"""Signed session cookies and CSRF tokens: nothing kept on the server, so any board process that
shares `[web] session_secret_file` accepts a login made on another.

A session cookie is `<name>|<expires>|<password fingerprint>` in base64 with an HMAC-SHA256 over it.
It ends at `expires` (`[web] session_ttl_s` after sign-in) whatever the browser does, and as soon as the
account's password hash changes (the fingerprint no longer matches), so changing a password signs that
person out everywhere.

CSRF: every page sets a random `board_csrf` cookie once; every form carries `HMAC(secret, cookie)` and
every POST must bring it back (field `csrf` or header `X-CSRF-Token`). Another site can neither read
the cookie nor compute the token, and the cookies are SameSite=Strict besides.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

SESSION_COOKIE = "board_session"
CSRF_COOKIE = "board_csrf"
MIN_SECRET_BYTES = 32


class SecretFileError(ValueError):
    """`[web] session_secret_file` cannot be used (named, with why)."""


def load_secret(path: Path | None) -> bytes:
    """The signing secret: the file's bytes, or a random one for this process when no file is set."""
    if path is None:
        return secrets.token_bytes(32)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SecretFileError(f"{path}: web.session_secret_file: cannot read: {exc.strerror or exc}") from None
    data = data.strip()
    if len(data) < MIN_SECRET_BYTES:
        raise SecretFileError(
            f"{path}: web.session_secret_file: {len(data)} bytes, at least {MIN_SECRET_BYTES} are needed "
            "(e.g. head -c 48 /dev/urandom | base64 > FILE)"
        )
    return data


def fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SessionClaim:
    name: str
    expires: int
    fingerprint: str


class Signer:
    """Issues and checks session cookies and CSRF tokens with one secret."""

    def __init__(self, secret: bytes, ttl_s: int, clock=time.time):
        self._secret = secret
        self.ttl_s = ttl_s
        self._clock = clock

    def _mac(self, purpose: str, data: bytes) -> str:
        return hmac.new(self._secret, purpose.encode() + b"\0" + data, hashlib.sha256).hexdigest()

    def issue(self, name: str, password_hash: str | None) -> str:
        body = f"{name}|{int(self._clock()) + self.ttl_s}|{fingerprint(password_hash)}".encode()
        return base64.urlsafe_b64encode(body).decode().rstrip("=") + "." + self._mac("session", body)

    def read(self, cookie: str | None) -> SessionClaim | None:
        """The claim of a well-signed, unexpired cookie, else None (never an exception: it is input)."""
        if not cookie or "." not in cookie or len(cookie) > 1024:
            return None
        encoded, mac = cookie.rsplit(".", 1)
        try:
            body = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except ValueError:
            return None
        if not hmac.compare_digest(mac, self._mac("session", body)):
            return None
        try:
            name, expires, print_ = body.decode().split("|")
            claim = SessionClaim(name, int(expires), print_)
        except ValueError:
            return None
        return claim if claim.expires > self._clock() else None

    def expired(self, cookie: str | None) -> bool:
        """A cookie that was validly signed but has run out (to tell the person so)."""
        if not cookie or "." not in cookie:
            return False
        encoded, mac = cookie.rsplit(".", 1)
        try:
            body = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except ValueError:
            return False
        return hmac.compare_digest(mac, self._mac("session", body)) and self.read(cookie) is None

    def csrf_token(self, nonce: str) -> str:
        return self._mac("csrf", nonce.encode())

    def csrf_ok(self, nonce: str | None, token: str | None) -> bool:
        if not nonce or not token or len(token) > 200:
            return False
        return hmac.compare_digest(token, self.csrf_token(nonce))


def new_nonce() -> str:
    return secrets.token_urlsafe(24)
