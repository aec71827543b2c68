"""`venue-agent selftest`: run the Art. 14 self-test suite now and print its report."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.markup import escape

from agent.cli.language import stacked
from agent.cli.messages import bad_parameter, say
from agent.cli.problems_first import Row, overall, print_rows, summary
from agent.cli.roll_call import ask_daemon
from agent.cli.verdicts import as_verdict, code
from agent.config import Settings
from agent.config.secrets import SecretError
from agent.identity import venue_ref
from agent.schedule.keeper import ScheduleKeeper
from agent.selftest.suite import run_selftest
from contract.findings import is_advisory
from contract.payloads import SelftestReport

ITEM_COLUMNS = ("item", "verdict", "value", "reason")


def pick_conference(settings: Settings, conference_id: str | None):
    """The conference named, else the one in progress, else the next one (its far end is probed)."""
    timeline = ScheduleKeeper(settings).timeline
    if conference_id is not None:
        if conference_id not in timeline.conferences:
            raise bad_parameter("cli.no_conference", "--conference", conference=repr(conference_id))
        return timeline.conferences[conference_id]
    return timeline.in_focus(datetime.now(UTC))


def item_rows(report: SelftestReport) -> list[Row]:
    rows = []
    for item in report.items:
        value = "" if item.value is None else escape(str(item.value))
        reason = escape(f"{stacked(item.reason.zh, item.reason.en)}\n{item.article}")
        rows.append(Row(item.check, as_verdict(item.verdict), (value, reason), is_advisory(item.check), item.verdict))
    return rows


def exit_code(report: SelftestReport) -> int:
    """The worst graded item's code (advisory framing items left out); no item at all is UNKNOWN."""
    return code(overall(item_rows(report)))


def print_report(console: Console, report: SelftestReport, problems_only: bool = False) -> int:
    """Summary line, then the items, problems first; returns the exit code the summary names."""
    rows = item_rows(report)
    verdict = overall(rows)
    context = f"{report.trigger}, {report.conference_id}" if report.conference_id else report.trigger
    console.print(
        summary(verdict, rows, "items")
        + f" — {say('cli.selftest_title')} ({escape(context)}) {report.duration_s:.1f} s",
        soft_wrap=True,
    )
    print_rows(console, say("cli.selftest_title"), ITEM_COLUMNS, rows, problems_only)
    return code(verdict)


def show(
    settings: Settings,
    as_json: bool,
    conference_id: str | None,
    framing: bool,
    via_broker: bool = False,
    wait_s: float | None = None,
    problems_only: bool = False,
) -> int:
    if via_broker:
        report = _from_daemon(settings, conference_id, framing, wait_s or settings.selftest.timeout_s + 15)
        if report is None:
            return 3
    else:
        conference = pick_conference(settings, conference_id)
        report = asyncio.run(run_selftest(settings, venue_ref(settings), "cli", conference, framing))
    if as_json:
        click.echo(json.dumps(report.model_dump(mode="json", by_alias=True), ensure_ascii=False, indent=2))
        return exit_code(report)
    return print_report(Console(), report, problems_only)


def _from_daemon(settings: Settings, conference_id: str | None, framing: bool, wait_s: float) -> SelftestReport | None:
    """The running daemon's own run (cmd/selftest through the broker); None after printing why not."""
    args: dict = {"framing": framing} | ({"conference_id": conference_id} if conference_id else {})
    try:
        reply = ask_daemon(settings, "selftest", args, timeout_s=wait_s)
    except TimeoutError as exc:
        click.echo(f"UNKNOWN: {say('cli.no_reply', detail=exc)}", err=True)
        return None
    except (ConnectionError, SecretError) as exc:
        click.echo(f"UNKNOWN: {say('cli.unreachable', detail=exc)}", err=True)
        return None
    if not reply.get("ok"):
        error = reply.get("error") or {}
        message = error.get("message") or {}
        refused = say("cli.daemon_refused", zh=message.get("zh", error), en=message.get("en", error))
        click.echo(f"UNKNOWN: {refused}", err=True)
        return None
    return SelftestReport.model_validate(reply["result"])
