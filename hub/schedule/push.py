"""Push a schedule to every venue in scope over `cmd/schedule` and record who accepted it.

`cmd/schedule` *replaces* the schedule this office pushed to a venue before — the office named by its
scope (`office`), so the province's push leaves a prefecture's conferences standing at the venue
(agent/schedule/offices.py) — and an office pushes its whole current schedule each time. Every
conference pushed is kept (`conference`, with the office's scope), and for each venue and conference
whether the venue accepted (`conference_venue.accepted`: true, false with the agent's error code, or
null when it did not answer by the deadline).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from contract.conference import Conference
from hub.commands.requests import ask_venues
from hub.commands.targets import venues_in_scope
from hub.config.models import HubSettings
from hub.db.engine import writer_engine
from hub.db.models import Conference as ConferenceRow
from hub.db.models import ConferenceVenue
from hub.schedule.read import wire


@dataclass
class PushResult:
    rows: list[dict[str, Any]]  # venue, state, accepted (True/False/None), error, conferences (known there now)

    @property
    def exit_code(self) -> int:
        if not self.rows:
            return 3
        if any(row["accepted"] is False for row in self.rows):
            return 2
        return 1 if any(row["accepted"] is None for row in self.rows) else 0


def push_schedule(
    settings: HubSettings,
    engine: Engine,
    password: str | None,
    conferences: list[Conference],
    deadline_s: float,
    only: list[str] | None = None,
) -> PushResult:
    """Push to the venues of the hub's scope — the office — replacing that office's schedule there.
    The board pushes for an account limited to a subtree by handing in settings with that scope."""
    hub = settings.hub
    office = hub.scope
    targets = venues_in_scope(engine, hub, only)
    keys = [t["venue"] for t in targets]
    args = {"conferences": [wire(c) for c in conferences], "office": office}
    pushed_at = datetime.now(UTC)
    answers, _ = (
        ask_venues(settings.broker, password, hub.scope, keys, "schedule", args, deadline_s) if keys else ({}, 0)
    )
    rows = []
    for target in targets:
        answer = answers.get(target["venue"])
        row: dict[str, Any] = {
            "venue": target["venue"],
            "state": target["state"],
            "accepted": None,
            "error": None,
            "conferences": None,
        }
        if answer is not None:
            reply = answer.reply
            row["accepted"] = bool(reply.ok)
            if reply.ok and reply.result:
                row["conferences"] = reply.result.get("conferences")
            if reply.error is not None:
                row["error"] = {"code": reply.error.code, "message": reply.error.message.model_dump()}
        rows.append(row)
    _store(engine, office, conferences, rows, pushed_at, withdraw=not only)
    return PushResult(rows)


def _store(
    engine: Engine,
    scope: str,
    conferences: list[Conference],
    rows: list[dict[str, Any]],
    pushed_at: datetime,
    withdraw: bool,
) -> None:
    """Upsert the pushed conferences and who accepted them. With `withdraw` (a push to the whole scope),
    this office's conferences that have not started and are not in the push are deleted (with their
    per-venue rows): the office withdrew them. Conferences that started are history and stay."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    conference_t, link_t = ConferenceRow.__table__, ConferenceVenue.__table__
    answered_at = datetime.now(UTC)
    with writer_engine(engine).begin() as connection:
        if withdraw:
            withdrawn = (
                conference_t.delete()
                .where(conference_t.c.scope == scope)
                .where(conference_t.c.start > pushed_at)
                .where(conference_t.c.id.not_in([c.id for c in conferences]))
            )
            connection.execute(withdrawn)
        for conference in conferences:
            values = {
                "id": conference.id,
                "title": conference.title,
                "kind": conference.kind,
                "start": conference.start,
                "duration_min": conference.duration_min,
                "far_end": conference.far_end,
                "scope": scope,
                "pushed_at": pushed_at,
                "payload": wire(conference),
            }
            insert = dialect.insert(conference_t).values(values)
            connection.execute(
                insert.on_conflict_do_update(
                    index_elements=[conference_t.c.id], set_={k: insert.excluded[k] for k in values if k != "id"}
                )
            )
            for row in rows:
                link = {
                    "conference_id": conference.id,
                    "venue_key": row["venue"],
                    "pushed_at": pushed_at,
                    "accepted": row["accepted"],
                    "error_code": row["error"]["code"] if row["error"] else None,
                    "answered_at": answered_at if row["accepted"] is not None else None,
                }
                insert = dialect.insert(link_t).values(link)
                connection.execute(
                    insert.on_conflict_do_update(
                        index_elements=[link_t.c.conference_id, link_t.c.venue_key],
                        set_={k: insert.excluded[k] for k in link if k not in ("conference_id", "venue_key")},
                    )
                )
