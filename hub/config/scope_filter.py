"""The one rule for a subtree filter (`[hub] scope`, each board account's `scope`): its form, its
segments, and whether two of them overlap."""

from __future__ import annotations

import re

from contract.broker import SEGMENT_PATTERN

_SEGMENT = re.compile(SEGMENT_PATTERN)


def scope_segments(scope: str) -> list[str]:
    """`vc/jilin/changchun/#` → ["vc", "jilin", "changchun"] (the fixed part of the filter)."""
    return scope.removesuffix("/#").split("/")


def check_scope(value: str) -> str:
    """A subtree filter `<prefix>/<province>[/<prefecture>[/<county>]]/#`, or ValueError saying what is wrong
    (the rule for `[hub] scope` and for each board account's `scope`)."""
    if not value.endswith("/#"):
        raise ValueError("must end in /# (the whole subtree), e.g. vc/jilin/#")
    segments = scope_segments(value)
    if not 2 <= len(segments) <= 4:
        raise ValueError("must name a prefix and a province, optionally a prefecture and a county")
    for position, segment in enumerate(segments):
        if not _SEGMENT.fullmatch(segment) or (segment == "_" and position < 3):
            raise ValueError(f"segment {segment!r} is not an id (lower-case ASCII, digits, - and _)")
    return value


def scopes_overlap(scope: str, other: str) -> bool:
    """Whether two subtree filters share any venue (one contains the other)."""
    a, b = scope_segments(scope), scope_segments(other)
    return a[: len(b)] == b or b[: len(a)] == a
