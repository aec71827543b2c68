"""Where a topic sits in the venue tree, and whether a venue lies inside this hub's scope.

The tree is `<prefix>/<province>/<prefecture>/<county>/<venue>/<leaf…>` (docs/mqtt.md); a scope is
a filter for one subtree of it (`vc/jilin/#`, `vc/jilin/changchun/#`). Topic filters for single
leaves are built by padding the scope with `+` down to the venue level, so that a prefecture hub
asks the broker for `vc/jilin/changchun/+/+/status`, never for anything outside its subtree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from contract.broker import SEGMENT_PATTERN

VENUE_DEPTH = 4  # province, prefecture, county, venue
_SEGMENT = re.compile(SEGMENT_PATTERN)


def scope_path(scope: str) -> list[str]:
    """The fixed levels of a scope below the prefix: `vc/jilin/changchun/#` → ["jilin", "changchun"]."""
    return scope.removesuffix("/#").split("/")[1:]


def scope_prefix(scope: str) -> str:
    return scope.split("/", 1)[0]


def venue_in_scope(venue_key: str, scope: str) -> bool:
    fixed = scope_path(scope)
    return venue_key.split("/")[: len(fixed)] == fixed


def leaf_filter(scope: str, leaf: str) -> str:
    """The filter of one leaf of every venue in scope: `vc/jilin/#`, `status` → `vc/jilin/+/+/+/status`."""
    fixed = scope_path(scope)
    return "/".join([scope_prefix(scope), *fixed, *["+"] * (VENUE_DEPTH - len(fixed)), leaf])


@dataclass(frozen=True)
class TopicPlace:
    """A topic read as a venue and a leaf (`leaf` may have several levels, e.g. `cmd/replies/x`)."""

    province: str
    prefecture: str
    county: str
    venue: str
    leaf: str

    @property
    def key(self) -> str:
        return f"{self.province}/{self.prefecture}/{self.county}/{self.venue}"


def parse_topic(topic: str, prefix: str) -> TopicPlace | None:
    """The venue and leaf of `topic`, or None when it is not a venue topic of the tree under `prefix`."""
    parts = topic.split("/")
    if len(parts) < VENUE_DEPTH + 2 or parts[0] != prefix:
        return None
    province, prefecture, county, venue = parts[1 : VENUE_DEPTH + 1]
    if not all(_SEGMENT.fullmatch(p) for p in (province, prefecture, county, venue)):
        return None
    if province == "_" or prefecture == "_" or venue == "_":
        return None
    return TopicPlace(province, prefecture, county, venue, "/".join(parts[VENUE_DEPTH + 1 :]))


def venue_key(province: str, prefecture: str, county: str, venue: str) -> str:
    return f"{province}/{prefecture}/{county}/{venue}"
