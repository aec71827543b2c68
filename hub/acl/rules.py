"""Who may read and write what on the broker (Art. 9), derived from the hub's inventory — a pure model.

Three kinds of account, each a certificate whose CN is the account name (mosquitto's
`use_identity_as_username`), so the name is exactly what the ACL's `user` lines say:

| account | name | e.g. |
|---|---|---|
| a venue agent (and its CLI on that PC) | `<prefecture>.<county>.<id>` | `changchun.nongan.main`, `changchun._.main` |
| a prefecture office (its venue-hub, its CLI) | `prefecture.<prefecture>` | `prefecture.changchun` |
| the province hub | `province.<province>` | `province.jilin` |

A topic segment never holds a `.` (contract.broker.SEGMENT_PATTERN), so a name splits back into its
segments unambiguously, and the number of parts (three for a venue, two for an office) keeps a
venue from ever being named like an office — even in Jilin, whose province and one prefecture are
both `jilin`.

The rules are explicit per-account lines, not mosquitto `pattern` lines: a `%u` pattern cannot
express "the venue whose segments are the parts of my name" (the tree has `/` where the name has
`.`, and mosquitto refuses pattern checks for names holding `/`), and per-account lines are what an
auditor reads. What each level may do:

- **a venue** writes its own leaves, its default `replies`, its replies under its own
  `<base>/cmd/replies/#`, and its own `cmd/<name>`; it reads its own commands, its own reply subtree
  and its own retained `availability`/`status`/`selftest`. Its own `cmd/<name>` is allowed because
  `venue-agent selftest --via-broker` — run by the technician on that PC, with that PC's certificate —
  asks the daemon through it; whoever holds the venue's key controls that agent already, and the
  agent answers only inside its own reply subtree, so nothing outside the venue becomes reachable.
- **a prefecture office** reads its whole subtree (`<prefix>/<province>/<prefecture>/#`: its own venue
  `_` and its counties, whatever they publish, and the replies to its requests) and writes only
  `cmd/<name>` of the venues of its subtree that the inventory lists — never their `cmd/replies/…`,
  so it cannot forge a county's answer to the province.
- **the province** reads its whole tree and writes `cmd/<name>` of every venue in it, listed or not.

No account writes anything outside the venue tree: the hub has no topics of its own (its requests
are venue commands, its answers come back on the venues' reply subtrees).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from contract import topics as tree
from contract.topics import VenueTopics

Access = Literal["read", "write", "readwrite", "deny"]
Role = Literal["province", "prefecture", "venue"]

VENUE_WRITES = (tree.AVAILABILITY, tree.STATUS, tree.EVENTS, tree.SELFTEST, tree.METRICS, tree.SNAPSHOT, tree.REPLIES)
VENUE_READS_RETAINED = (tree.AVAILABILITY, tree.STATUS, tree.SELFTEST)  # what `venue-agent status` reads


class Place(Protocol):
    """A venue's place in the tree (an inventory row, the agent's [venue])."""

    province: str
    prefecture: str
    county: str
    id: str


@dataclass(frozen=True)
class Grant:
    """One ACL line: `topic <access> <topic filter>`."""

    access: Access
    topic: str


@dataclass(frozen=True)
class Account:
    """A broker account: its name (the certificate's CN), its level, and what it may do."""

    name: str
    role: Role
    subtree: str  # the topic prefix the account belongs to (a venue's base, an office's subtree)
    grants: tuple[Grant, ...]
    label: str = ""  # the office's name for it (a venue's inventory name), for the ACL's comments


def venue_account(place: Place) -> str:
    return f"{place.prefecture}.{place.county}.{place.id}"


def prefecture_account(prefecture: str) -> str:
    return f"prefecture.{prefecture}"


def province_account(province: str) -> str:
    return f"province.{province}"


def venue_grants(base: str) -> tuple[Grant, ...]:
    """A venue: its own leaves and replies, its own commands and retained state — nothing else."""
    topics = VenueTopics(base)
    return (
        *(Grant("write", f"{base}/{leaf}") for leaf in VENUE_WRITES if leaf not in VENUE_READS_RETAINED),
        *(Grant("readwrite", f"{base}/{leaf}") for leaf in VENUE_READS_RETAINED),
        Grant("readwrite", topics.command_filter),  # the daemon reads them; its own CLI asks through them
        Grant("readwrite", f"{topics.reply_subtree}#"),  # its answers; its CLI reads the one it asked for
    )


def prefecture_grants(subtree: str, venue_bases: Iterable[str]) -> tuple[Grant, ...]:
    """A prefecture office: reads its subtree; commands the listed venues of it, never writes a reply."""
    grants = [Grant("read", f"{subtree}/#")]
    for base in venue_bases:
        grants += [
            Grant("write", VenueTopics(base).command_filter),
            Grant("deny", f"{base}/{tree.COMMAND}/{tree.REPLIES}"),
        ]
    return tuple(grants)


def province_grants(subtree: str) -> tuple[Grant, ...]:
    """The province: reads its tree, commands every venue in it (listed or not), never writes a reply."""
    venues = f"{subtree}/+/+/+"
    return (
        Grant("read", f"{subtree}/#"),
        Grant("write", f"{venues}/{tree.COMMAND}/+"),
        Grant("deny", f"{venues}/{tree.COMMAND}/{tree.REPLIES}"),
    )


def scope_levels(scope: str) -> list[str]:
    """`vc/jilin/changchun/#` → ["vc", "jilin", "changchun"]."""
    return scope.removesuffix("/#").split("/")


def build_accounts(scope: str, venues: Iterable[Place]) -> list[Account]:
    """Every account of `scope` (`<prefix>/<province>[/<prefecture>[/<county>]]/#`, the hub's scope):
    the office at the scope's own level (province or prefecture) and every level below it that the
    inventory names, in a stable order (the province, then each prefecture followed by its venues).
    Venues outside the scope are left out."""
    levels = scope_levels(scope)
    prefix, fixed = levels[0], levels[1:]
    inside = sorted(
        (v for v in venues if [v.province, v.prefecture, v.county][: len(fixed)] == fixed),
        key=lambda v: (v.province, v.prefecture, v.county != "_", v.county, v.id),
    )
    accounts: list[Account] = []
    if len(fixed) == 1:
        subtree = f"{prefix}/{fixed[0]}"
        accounts.append(Account(province_account(fixed[0]), "province", subtree, province_grants(subtree)))
    for province, prefecture in dict.fromkeys((v.province, v.prefecture) for v in inside):
        own = [v for v in inside if (v.province, v.prefecture) == (province, prefecture)]
        bases = [VenueTopics.for_venue(prefix, v).base for v in own]
        if len(fixed) <= 2:
            subtree = f"{prefix}/{province}/{prefecture}"
            grants = prefecture_grants(subtree, bases)
            accounts.append(Account(prefecture_account(prefecture), "prefecture", subtree, grants))
        for venue, base in zip(own, bases, strict=True):
            label = str(getattr(venue, "name", "") or "")
            accounts.append(Account(venue_account(venue), "venue", base, venue_grants(base), label))
    return accounts
