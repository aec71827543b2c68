"""`venue-agent status`: what the hub sees of this venue, read back from the broker's retained messages.

The leaves are read as untrusted input (agent/cli/retained.py): one that cannot be read makes the
command say UNKNOWN with the reason and exit 3 (an `offline` venue stays CRITICAL, 2) — never a
traceback. The screen: the summary line, the problems, then the rest (agent/cli/problems_first.py).
"""

from __future__ import annotations

import json
import sys
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape

from agent.cli.language import texts
from agent.cli.messages import columns, say, say_lines, text
from agent.cli.problems_first import Row, measured, print_problems, print_rest, summary
from agent.cli.retained import fetch_retained, read_retained
from agent.cli.venue_time import local, zone_line, zone_named
from agent.cli.verdicts import as_verdict, code, graded, style
from agent.config.models import Settings
from agent.config.secrets import SecretError
from contract.findings import Message, Verdict, is_advisory

# read_retained is re-exported: the fuzz harness (fuzz/status_leaves.py) and the tests take it from here.
__all__ = ["exit_code", "read_retained", "render", "show", "verdict_of"]


def verdict_of(found: dict[str, Any]) -> Verdict:
    """Offline is CRITICAL; anything unreadable or never seen is UNKNOWN; else the worst graded
    check (advisory ones left out), or the daemon's overall when it lists no checks."""
    if found.get("availability") == "offline":
        return Verdict.FAIL
    if found.get("problems") or found.get("availability") != "online":
        return Verdict.UNKNOWN
    status = found.get("status")
    if not isinstance(status, dict):
        return Verdict.UNKNOWN
    checks = status.get("checks") or {}
    graded_checks = [finding.get("verdict") for key, finding in checks.items() if not is_advisory(key)]
    return graded(graded_checks) if graded_checks else as_verdict(status.get("overall"))


def exit_code(found: dict[str, Any]) -> int:
    """Nagios: the code of `verdict_of` (the word the table leads with)."""
    return code(verdict_of(found))


def show(settings: Settings, as_json: bool, timeout_s: float, problems_only: bool = False) -> int:
    try:
        found = fetch_retained(settings, timeout_s)
    except (ConnectionError, SecretError) as exc:
        if as_json:
            print(json.dumps({"error": str(exc), "code": "cli.unreachable"}, ensure_ascii=False))
        else:
            print(f"UNKNOWN: {say('cli.unreachable', detail=exc)}", file=sys.stderr)
        return 3
    exit_status = exit_code(found)
    if as_json:
        print(json.dumps(found | {"exit_code": exit_status}, ensure_ascii=False, indent=2))
    else:
        console = Console()
        for leaf, reason in found.get("problems", {}).items():
            console.print(
                f"[bold]UNKNOWN[/]: the retained {leaf} on {found['topic']}/{leaf} cannot be read: {escape(reason)}",
                soft_wrap=True,  # one line, as a Nagios plugin's first line is read
            )
        render(found, console, zone_named(settings.schedule.timezone), problems_only)
    return exit_status


_CONTROL = {point: f"\\x{point:02x}" for point in (*range(0x20), *range(0x7F, 0xA0))}


def _plain(value: object) -> str:
    """Retained text with every control character (an ESC that would clear the screen or retitle
    the terminal) shown as its escape, not sent to the terminal: anyone who can write the status
    topic writes this text."""
    return "".join(_CONTROL.get(ord(ch), ch) for ch in str(value))


def _text(value: object) -> str:
    """Retained text shown literally: as `_plain`, and a `[` in a venue name or a message is not
    rich markup."""
    return escape(_plain(value))


CHECK_COLUMNS = ("check", "verdict", "value_limit", "message")  # cli.column.* codes


def render(found: dict[str, Any], console: Console, zone: ZoneInfo | None = None, problems_only: bool = False) -> None:
    """Summary line, the venue, the problems; then the outbox, conference and self-test; then the
    checks that are ok. Times in the venue's zone, said once."""
    zone = zone or zone_named(None)
    status = found.get("status") if isinstance(found.get("status"), dict) else {}
    availability = found.get("availability", "never seen")
    venue = status.get("venue", {})
    overall = status.get("overall", "unknown")
    rows = check_rows(status.get("checks") or {})
    verdict = verdict_of(found)
    lead = summary(verdict, rows)
    if availability != "online":
        lead += "; " + say("cli.status.venue_is", state=_text(availability))
    console.print(lead)
    console.print(f"[bold]{_text(venue.get('name', found['topic']))}[/]  {_text(found['topic'])}")
    daemon_word = f"[{style(as_verdict(overall))}]{_text(overall)}[/]"
    shown = f"[{'green' if availability == 'online' else 'bold red'}]{_text(availability)}[/]"
    at = _text(local(status.get("ts", "—"), zone))
    line = say_lines("cli.status.line", availability=shown, overall=daemon_word, at=at) + "   " + zone_line(zone)
    console.print(line)
    print_problems(console, columns(*CHECK_COLUMNS), rows)
    render_outbox(status.get("outbox"), console)
    render_conference(status.get("conference") or {}, console, zone)
    render_selftest(found, console, zone)
    print_rest(console, say("cli.checks_title"), columns(*CHECK_COLUMNS), rows, problems_only)


def check_rows(checks: dict[str, Any]) -> list[Row]:
    """The status's checks as rows; every text in them was written by whoever retained it."""
    rows = []
    for key, finding in checks.items():
        verdict = finding.get("verdict", "unknown")
        value = finding.get("value")
        unit = finding.get("unit") or None
        threshold = finding.get("threshold")
        message = finding.get("message", {})
        # Escaped line by line: a newline written into the payload is shown as \x0a, ours break lines.
        shown = measured(*(None if part is None else _plain(part) for part in (value, threshold, unit)))
        said = texts(str(message.get("zh", "")), str(message.get("en", "")))  # the chosen language (--lang)
        lines = (*said, finding.get("article", ""))
        cells = ("\n".join(map(_text, shown.split("\n"))), "\n".join(map(_text, lines)))
        rows.append(Row(_plain(key), as_verdict(verdict), cells, is_advisory(key), _plain(verdict)))
    return rows


def render_outbox(outbox: dict[str, Any] | None, console: Console) -> None:
    if not outbox:
        return
    extra = Message(zh="", en="")  # each language's own words inside each language's line
    for key, message_code, field in (
        ("storage_error", "cli.status.outbox_storage_error", "error"),
        ("rejected_by_broker", "cli.status.outbox_refused", "count"),
    ):
        if outbox.get(key):
            part = text(message_code, **{field: _text(outbox[key])})
            extra = Message(zh=f"{extra.zh}[red]{part.zh}[/]", en=f"{extra.en}[red]{part.en}[/]")
    pending, events, metrics = (_text(outbox[k]) for k in ("pending", "dropped_events", "dropped_metrics"))
    line = say_lines("cli.status.outbox", pending=pending, events=events, metrics=metrics, extra=extra)
    console.print(line)


def render_selftest(found: dict[str, Any], console: Console, zone: ZoneInfo) -> None:
    selftest = found.get("selftest")
    if not isinstance(selftest, dict):
        unreadable = "selftest" in found.get("problems", {})
        console.print(say_lines("cli.status.selftest_unreadable" if unreadable else "cli.status.selftest_none"))
        return
    failed = [item["check"] for item in selftest.get("items", []) if item.get("verdict") == "fail"]
    conference = _text(selftest["conference_id"]) if selftest.get("conference_id") else text("cli.status.no_conference")
    fields = {
        "trigger": _text(selftest.get("trigger")),
        "conference": conference,
        "verdict": f"[{style(selftest.get('verdict'))}]{_text(selftest.get('verdict'))}[/]",
        "at": _text(local(selftest.get("ts"), zone)),
    }
    if failed:
        console.print(say_lines("cli.status.selftest_failed", items=_text(", ".join(failed)), **fields))
    else:
        console.print(say_lines("cli.status.selftest", **fields))


def render_conference(conference: dict[str, Any], console: Console, zone: ZoneInfo) -> None:
    """The conference in progress or next, and the last Art. 20 summary."""
    for current in conference.get("current") or []:
        name = current.get("title") or current["id"]
        since = _text(local(current["start"], zone))
        console.print(say_lines("cli.status.in_conference", name=_text(name), id=_text(current["id"]), since=since))
    following = conference.get("next")
    if following:
        name = following.get("title") or following["id"]
        at = _text(local(following["start"], zone))
        console.print(say_lines("cli.status.next_conference", name=_text(name), at=at))
    summary = conference.get("last_summary")
    if summary:
        allowed = summary.get("allowed_min") or "—"
        console.print(
            say(
                "cli.status.last_summary",
                title=_text(summary.get("title") or summary["conference_id"]),
                actual=_text(summary["actual_min"]),
                allowed=_text(allowed),
                ok_pct=_text(summary.get("art17_min_ok_pct")),
                incidents=_text(summary["incidents"]),
                drops=_text(summary["call_drops"]),
            ),
        )
