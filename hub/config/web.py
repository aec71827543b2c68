"""The `[web]` table: the board's address, its sessions, its accounts and the single-sign-on proxy.

```toml
[web]
listen = "127.0.0.1:8080"            # `venue-hub run` also serves the board; `venue-hub serve` serves only it
session_ttl_s = 28800                # a login lasts 8 h, then the board asks again
session_secret_file = "board.secret" # ≥ 32 bytes shared by every process behind one address (else random)
accounts_file = "board-accounts.toml"  # more [[account]] tables, kept apart from the main file

[[web.account]]
name = "changchun-duty"
password_hash = "scrypt$16384$8$1$…"  # `venue-hub passwd` prints one
role = "operator"                    # viewer: looks; operator: also starts roll calls, asks for snapshots
scope = "vc/jilin/changchun/#"       # sees only this subtree (Art. 9): a prefecture and its counties

[web.proxy]                          # single sign-on in front of the board (docs/board.md)
header = "X-Remote-User"             # the account name, set by the proxy
trusted = ["127.0.0.1/32"]           # believed only from these addresses
```

An account without a `password_hash` can sign in only through the proxy. Accounts are named, never
numbered, because the proxy's header names them.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from contract.broker import Strict
from hub.config.scope_filter import check_scope
from hub.web.passwords import PasswordHashError, parse_hash

_ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_HEADER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
_HOST_PORT = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9.-]+)):(?P<port>\d{1,5})$")


def split_listen(value: str) -> tuple[str, int]:
    """`127.0.0.1:8080` → ("127.0.0.1", 8080); `[::1]:8080` → ("::1", 8080)."""
    found = _HOST_PORT.fullmatch(value)
    if found is None:
        raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080")
    port = int(found.group("port"))
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is not in 1–65535")
    return found.group("v6") or found.group("host"), port


class AccountConfig(Strict):
    """One person (or duty desk) who may use the board: a role and the subtree they see."""

    name: str = Field(description="Login name; with the proxy, the value of its header.")
    password_hash: str | None = Field(
        default=None, description="`scrypt$N$r$p$salt$hash` from `venue-hub passwd`; none: proxy sign-in only."
    )
    role: Literal["viewer", "operator"] = Field(
        description="viewer: looks; operator: also starts roll calls and asks for snapshots."
    )
    scope: str = Field(description="The subtree this account sees, e.g. `vc/jilin/changchun/#` (Art. 9).")

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _ACCOUNT_NAME.fullmatch(value):
            raise ValueError("must be 1–64 letters, digits, and _ . @ - (starting with a letter or digit)")
        return value

    @field_validator("password_hash")
    @classmethod
    def _valid_hash(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_hash(value)
            except PasswordHashError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("scope")
    @classmethod
    def _valid_scope(cls, value: str) -> str:

        return check_scope(value)


class ProxyConfig(Strict):
    """Single sign-on: a reverse proxy that has authenticated the person names the account in a header."""

    header: str = Field(default="X-Remote-User", description="Request header holding the account name.")
    trusted: list[str] = Field(
        min_length=1, description="Addresses or networks (CIDR) of the proxy; the header is ignored from any other."
    )

    @field_validator("header")
    @classmethod
    def _valid_header(cls, value: str) -> str:
        if not _HEADER.fullmatch(value):
            raise ValueError("must be a header name: letters, digits and -")
        return value

    @field_validator("trusted")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return value

    def networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(item, strict=False) for item in self.trusted]


class WebSection(Strict):
    """The board (hub/web): where it listens, how long a login lasts, who may sign in."""

    listen: str | None = Field(
        default=None, description="HOST:PORT to serve the board on; unset: `venue-hub run` serves no board."
    )
    session_ttl_s: int = Field(default=8 * 3600, ge=60, le=7 * 86400, description="A login lasts this long.")
    session_secret_file: Path | None = Field(
        default=None,
        description="File of ≥ 32 bytes signing the session cookies; the processes behind one address share it. "
        "Unset: a random secret per process (logins end when it restarts).",
    )
    accounts_file: Path | None = Field(default=None, description="A TOML file of further [[account]] tables.")
    account: list[AccountConfig] = Field(default_factory=list, description="The accounts (see above).")
    proxy: ProxyConfig | None = Field(default=None, description="Single sign-on through a reverse proxy.")
    language: Literal["zh", "en"] = Field(default="zh", description="The board's language until a person switches.")
    rollcall_deadline_s: float = Field(
        default=60.0, ge=1, le=3600, description="How long a roll call started from the board waits for answers."
    )

    @field_validator("listen")
    @classmethod
    def _valid_listen(cls, value: str | None) -> str | None:
        if value is not None:
            split_listen(value)
        return value
