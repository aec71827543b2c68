"""The roll call (点名, Art. 14): every venue asked for a self-test at once, answers collected until a
deadline, each venue's verdict, failed items, reply time and liaison — kept in the database.

A venue that does not answer by the deadline is `silent` in the roll call whatever the ingest last
recorded: the roll call reports what happened now. An error reply (the venue was busy, the conference
is not in its schedule) counts as answered with verdict `unknown`, its code kept in the database.
Exit codes: 0 all pass, 1 warnings (warn or unknown), 2 any fail or silent, 3 nobody to call.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from hub.commands.requests import ask_venues
from hub.commands.targets import conference_venue_keys, venues_in_scope
from hub.config.models import HubSettings
from hub.db.engine import writer_engine
from hub.db.models import RollCall, RollCallRow, SelftestRecord

EXIT_OK, EXIT_WARNING, EXIT_CRITICAL, EXIT_UNKNOWN = 0, 1, 2, 3


@dataclass
class RollCallResult:
    id: str
    conference_id: str | None
    started_at: datetime
    deadline_s: float
    rows: list[dict[str, Any]]
    summary: dict[str, int]
    exit_code: int
    error_codes: dict[str, str]

    def as_json(self) -> dict[str, Any]:
        return {
            "rollcall": self.id,
            "conference_id": self.conference_id,
            "started_at": self.started_at.isoformat().replace("+00:00", "Z"),
            "deadline_s": self.deadline_s,
            "venues": self.rows,
            "summary": self.summary,
        }


def summarise(rows: list[dict[str, Any]]) -> dict[str, int]:
    verdicts = [row["verdict"] for row in rows if row["answered"]]
    return {
        "total": len(rows),
        "answered": len(verdicts),
        "pass": verdicts.count("pass"),
        "warn": verdicts.count("warn") + verdicts.count("unknown"),
        "fail": verdicts.count("fail"),
        "silent": sum(1 for row in rows if not row["answered"]),
    }


def exit_code_of(summary: dict[str, int]) -> int:
    if summary["total"] == 0:
        return EXIT_UNKNOWN
    if summary["fail"] or summary["silent"]:
        return EXIT_CRITICAL
    return EXIT_WARNING if summary["warn"] else EXIT_OK


def run_rollcall(
    settings: HubSettings,
    engine: Engine,
    password: str | None,
    conference_id: str | None,
    deadline_s: float,
    framing: bool = False,
) -> RollCallResult:
    hub = settings.hub
    only = conference_venue_keys(engine, conference_id) if conference_id else None
    targets = venues_in_scope(engine, hub, only) if only is None or only else []
    started = datetime.now(UTC)
    args: dict[str, Any] = {}
    if conference_id:
        args["conference_id"] = conference_id
    if framing:
        args["framing"] = True
    answers, _ = (
        ask_venues(settings.broker, password, hub.scope, [t["venue"] for t in targets], "selftest", args, deadline_s)
        if targets
        else ({}, 0.0)
    )
    rows, reports, errors = [], [], {}
    for target in targets:
        key = target["venue"]
        answer = answers.get(key)
        row: dict[str, Any] = {
            "venue": key,
            "answered": answer is not None,
            "verdict": None,
            "failed_items": [],
            "seconds": None,
            "liaison": target["contacts"].get("liaison"),
        }
        if answer is not None:
            row["seconds"] = round(answer.seconds, 2)
            result = answer.reply.result if answer.reply.ok else None
            if result is not None and result.get("verdict") in ("pass", "warn", "fail", "unknown"):
                row["verdict"] = result["verdict"]
                row["failed_items"] = [i.get("check") for i in result.get("items", []) if i.get("verdict") == "fail"]
                reports.append((key, result))
            else:
                row["verdict"] = "unknown"
                errors[key] = answer.reply.error.code if answer.reply.error else "cmd.no_result"
        rows.append((row, target["state"]))
    plain_rows = [row for row, _ in rows]
    summary = summarise(plain_rows)
    result = RollCallResult(
        id=str(uuid.uuid4()),
        conference_id=conference_id,
        started_at=started,
        deadline_s=deadline_s,
        rows=plain_rows,
        summary=summary,
        exit_code=exit_code_of(summary),
        error_codes=errors,
    )
    _store(engine, result, hub.scope, rows, reports)
    return result


def _store(
    engine: Engine, result: RollCallResult, scope: str, rows: list[tuple[dict[str, Any], str]], reports: list
) -> None:
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    summary = result.summary
    with writer_engine(engine).begin() as connection:
        connection.execute(
            dialect.insert(RollCall.__table__).values(
                id=result.id,
                conference_id=result.conference_id,
                scope=scope,
                started_at=result.started_at,
                finished_at=datetime.now(UTC),
                deadline_s=result.deadline_s,
                total=summary["total"],
                answered=summary["answered"],
                passed=summary["pass"],
                warned=summary["warn"],
                failed=summary["fail"],
                silent=summary["silent"],
                exit_code=result.exit_code,
            )
        )
        for key, report in reports:
            # The reply carries the whole report: keep it even if its retained copy never reaches the ingest.
            connection.execute(
                dialect.insert(SelftestRecord.__table__)
                .values(
                    id=report["id"],
                    venue_key=key,
                    trigger=report.get("trigger", "command"),
                    verdict=report["verdict"],
                    conference_id=report.get("conference_id"),
                    ts=datetime.fromisoformat(report["ts"].replace("Z", "+00:00")),
                    received_at=datetime.now(UTC),
                    payload=report,
                )
                .on_conflict_do_nothing()
            )
        for row, state in rows:
            connection.execute(
                dialect.insert(RollCallRow.__table__).values(
                    rollcall_id=result.id,
                    venue_key=row["venue"],
                    answered=row["answered"],
                    verdict=row["verdict"],
                    failed_items=row["failed_items"],
                    seconds=row["seconds"],
                    liaison=row["liaison"],
                    selftest_id=next((r["id"] for k, r in reports if k == row["venue"]), None),
                    error_code=result.error_codes.get(row["venue"]),
                    state=state,
                )
            )
