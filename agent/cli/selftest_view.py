"""`venue-agent selftest`: run the Art. 14 self-test suite now and print its report."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.table import Table

from agent.config import Settings
from agent.contract.payloads import SelftestReport
from agent.daemon import venue_ref
from agent.schedule_keeper import ScheduleKeeper
from agent.selftest.report import NAGIOS_CODE
from agent.selftest.suite import run_selftest

STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "unknown": "dim"}
WORD = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}


def pick_conference(settings: Settings, conference_id: str | None):
    """The conference named, else the one in progress, else the next one (its far end is probed)."""
    timeline = ScheduleKeeper(settings).timeline
    if conference_id is not None:
        if conference_id not in timeline.conferences:
            raise click.BadParameter(f"no conference {conference_id!r} in the schedule", param_hint="--conference")
        return timeline.conferences[conference_id]
    now = datetime.now(UTC)
    current = timeline.current(now)
    if current:
        return current[0]
    upcoming = [c for c in timeline.conferences.values() if c.start > now]
    return min(upcoming, key=lambda c: c.start, default=None)


def print_report(console: Console, report: SelftestReport) -> None:
    title = f"self-test / 自检 ({report.trigger}" + (f", {report.conference_id})" if report.conference_id else ")")
    table = Table(title=title)
    for column in ("item", "verdict", "value", "article", "reason"):
        table.add_column(column)
    for item in report.items:
        value = "" if item.value is None else str(item.value)
        verdict = f"[{STYLE[item.verdict]}]{item.verdict}[/]"
        table.add_row(item.check, verdict, value, item.article, f"{item.reason.zh}\n{item.reason.en}")
    console.print(table)
    code = NAGIOS_CODE[report.verdict]
    console.print(f"[bold]{WORD[code]}[/] {report.verdict} in {report.duration_s:.1f} s (exit {code})")


def show(settings: Settings, as_json: bool, conference_id: str | None, framing: bool) -> int:
    conference = pick_conference(settings, conference_id)
    report = asyncio.run(run_selftest(settings, venue_ref(settings), "cli", conference, framing))
    if as_json:
        click.echo(json.dumps(report.model_dump(mode="json", by_alias=True), ensure_ascii=False, indent=2))
    else:
        print_report(Console(), report)
    return NAGIOS_CODE[report.verdict]
