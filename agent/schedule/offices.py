"""Pushed schedules kept per office: the province's push does not wipe the prefecture's conferences.

Every office runs its own hub for its own subtree (Art. 9: a prefecture supervises its counties), and
both push conferences to the same county venue: the province its provincial ones, the prefecture its
own. `cmd/schedule` replaces the schedule *of the office that sends it* — named by `office`, the
office's scope (`vc/jilin/#`, `vc/jilin/changchun/#`) — and the venue's timeline is the union of every
office's. A push that names no office (an older hub) fills the slot `hub`. An office that pushes an
empty list withdraws its conferences.

Stored as `{"offices": {office: [conference, …]}}` in `pushed_schedule.json`; a file of the earlier
form (a bare list) is read as the `hub` slot, so an upgrade keeps what was pushed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contract.conference import Conference

DEFAULT_OFFICE = "hub"
# The province, a prefecture, a county office, and room to spare. With at most 500 conferences per
# push that bounds the stored file to ~1.2 MB (keeper.MAX_STATE_BYTES is 4 MiB).
MAX_OFFICES = 8
MAX_OFFICE_CHARS = 256


def office_problem(office: object) -> str | None:
    """Why `office` cannot name a slot, or None."""
    if not isinstance(office, str):
        return f'"office" must be a string, not {type(office).__name__}'
    if not 1 <= len(office) <= MAX_OFFICE_CHARS:
        return f'"office" must be 1–{MAX_OFFICE_CHARS} characters'
    if not office.isprintable():
        return '"office" must be printable'
    return None


def parse_stored(data: object, validate: Callable[[object], list[Conference]]) -> dict[str, list[Conference]]:
    """The slots of a stored file (either form), each validated whole; ValueError naming the first problem."""
    if isinstance(data, list):
        return {DEFAULT_OFFICE: validate(data)} if data else {}
    if not isinstance(data, dict) or set(data) != {"offices"} or not isinstance(data["offices"], dict):
        raise ValueError('not a list of conferences nor {"offices": {office: [conference, …]}}')
    offices: dict[str, Any] = data["offices"]
    if len(offices) > MAX_OFFICES:
        raise ValueError(f"{len(offices)} offices, at most {MAX_OFFICES}")
    slots: dict[str, list[Conference]] = {}
    for office, conferences in offices.items():
        if problem := office_problem(office):
            raise ValueError(problem)
        try:
            slots[office] = validate(conferences)
        except ValueError as exc:
            raise ValueError(f"office {office!r}: {exc}") from None
    return slots


def replace_slot(
    slots: dict[str, list[Conference]], office: str, conferences: list[Conference]
) -> dict[str, list[Conference]]:
    """The slots after `office` pushed `conferences` (an empty list withdraws it); ValueError past the bounds."""
    new = {name: listed for name, listed in slots.items() if name != office}
    if conferences:
        new[office] = conferences
    if len(new) > MAX_OFFICES:
        raise ValueError(f"a {len(new)}th office; at most {MAX_OFFICES} offices push to one venue")
    return new


def union(slots: dict[str, list[Conference]]) -> list[Conference]:
    """Every office's conferences; an id two offices both push is taken from the office named last in
    sorted order (a deterministic rule: the same id pushed twice is one conference)."""
    merged: dict[str, Conference] = {}
    for office in sorted(slots):
        merged.update({conference.id: conference for conference in slots[office]})
    return list(merged.values())


def stored_form(slots: dict[str, list[Conference]]) -> dict[str, Any]:
    return {"offices": {office: [c.model_dump(mode="json") for c in listed] for office, listed in slots.items()}}
