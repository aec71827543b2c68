"""Who is looking, and what they may see: the signed-in account, its role and its subtree (Art. 9).

Every page, API answer, stream and picture is filtered through `Viewer.sees(venue_key)`; a venue outside
the viewer's subtree is answered 404 exactly like one that does not exist, so an account cannot even
learn which other venues there are. The viewer's scope is the narrower of the account's and the hub's
(they always overlap: config refuses an account outside the hub's scope).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from hub.config.models import HubSettings
from hub.config.scope_filter import scope_segments
from hub.config.web import AccountConfig
from hub.scope import venue_in_scope


@dataclass(frozen=True)
class Viewer:
    name: str
    role: str
    scope: str  # the effective subtree filter, e.g. vc/jilin/changchun/#
    via: str  # "password" or "proxy"

    @property
    def operator(self) -> bool:
        return self.role == "operator"

    def sees(self, venue_key: str) -> bool:
        return venue_in_scope(venue_key, self.scope)


def effective_scope(account: AccountConfig, settings: HubSettings) -> str:
    """The narrower of the account's scope and the hub's (one contains the other)."""
    mine, hubs = scope_segments(account.scope), scope_segments(settings.hub.scope)
    return account.scope if len(mine) >= len(hubs) else settings.hub.scope


def viewer_of(account: AccountConfig, settings: HubSettings, via: str) -> Viewer:
    return Viewer(account.name, account.role, effective_scope(account, settings), via)


def from_trusted_proxy(client_host: str | None, settings: HubSettings) -> bool:
    """Whether a request comes from an address `[web.proxy] trusted` names."""
    proxy = settings.web.proxy
    if proxy is None or not client_host:
        return False
    try:
        address = ipaddress.ip_address(client_host)
    except ValueError:
        return False
    return any(address in network for network in proxy.networks())
