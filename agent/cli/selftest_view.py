"""`venue-agent selftest`: run the Art. 14 self-test suite now and print its report."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.markup import escape

from agent.cli.language import stacked
from agent.cli.messages import bad_parameter, columns, say
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

ITEM_COLUMNS = ("item", "verdict", "value", "reason")  # cli.column.* codes


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
    print_rows(console, say("cli.selftest_title"), columns(*ITEM_COLUMNS), rows, problems_only)
    return code(verdict)


# How long `selftest` listens for the daemon's retained availability and status before running here.
DETECT_TIMEOUT_S = 2.0
# A status older than this many status intervals (plus the slack) is not a running daemon's.
FRESH_INTERVALS, FRESH_SLACK_S = 3, 30.0


def running_daemon(settings: Settings, timeout_s: float = DETECT_TIMEOUT_S) -> int | None:
    """The pid of this venue's daemon running on this host, or None.

    The daemon holds the capture card and the sound input (a V4L2 device or an ALSA input opens
    once; a camera's RTSP server often serves few clients), so a self-test run here beside it
    reads "no stream there (yet), or the URL is wrong" about a source that is fine (#17 item 5).
    The state directory holds no pid or lock file, so the daemon is recognised by what it
    publishes: its retained `availability` is `online`, its retained status names this host and a
    pid that is alive here, and that status is recent (a daemon republishes it every
    `status_interval_s`). No broker, or nothing retained: None, and the self-test runs here."""
    from agent.cli.retained import fetch_retained

    try:
        found = fetch_retained(settings, timeout_s)
    except (ConnectionError, SecretError):
        return None
    status = found.get("status")
    if found.get("availability") != "online" or not isinstance(status, dict):
        return None
    agent = status.get("agent") or {}
    if agent.get("hostname") != socket.gethostname() or not isinstance(agent.get("pid"), int):
        return None
    try:
        age = (datetime.now(UTC) - datetime.fromisoformat(str(status.get("ts")))).total_seconds()
    except (TypeError, ValueError):
        return None
    if age > FRESH_INTERVALS * settings.agent.status_interval_s + FRESH_SLACK_S:
        return None
    try:
        os.kill(agent["pid"], 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, and another user's (the service user's)
        pass
    return agent["pid"]


def show(
    settings: Settings,
    as_json: bool,
    conference_id: str | None,
    framing: bool,
    via_broker: bool = False,
    wait_s: float | None = None,
    problems_only: bool = False,
    local: bool = False,
) -> int:
    """Run the self-test here, or ask the daemon (`via_broker`). Without either flag, a daemon
    running on this host with a picture or sound source configured is asked (said on stderr, one
    line): it holds those sources, so opening them here would fail or disturb it. `local` runs
    here regardless."""
    if not via_broker and not local and (settings.video is not None or settings.audio is not None):
        pid = running_daemon(settings)
        if pid is not None:
            click.echo(say("cli.daemon_running", pid=pid), err=True)
            via_broker = True
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
