"""`venue-agent status`: what the hub sees of this venue, read back from the broker's retained messages."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from agent.cli.probe_output import NAGIOS_CODE, STYLE
from agent.config.models import Settings
from agent.config.secrets import SecretError
from agent.mqtt_client import BriefConnection
from contract.findings import Verdict
from contract.topics import VenueTopics


def _verdict(text: object) -> Verdict:
    """A verdict read back from the broker; anything unexpected counts as unknown."""
    try:
        return Verdict(text)
    except ValueError:
        return Verdict.UNKNOWN


def fetch_retained(settings: Settings, timeout_s: float) -> dict[str, Any]:
    """Connect, subscribe to the venue's retained leaves and collect them for up to `timeout_s`."""
    topics = VenueTopics.for_venue(settings.broker.topic_prefix, settings.venue)
    wanted = {topics.availability: "availability", topics.status: "status", topics.selftest: "selftest"}
    found: dict[str, Any] = {}
    connection = BriefConnection(settings, "status")
    connection.on_ready = lambda client: client.subscribe([(topic, 1) for topic in wanted])

    def on_message(client, userdata, message):
        leaf = wanted.get(message.topic)
        if leaf is None:
            return
        text = message.payload.decode("utf-8", "replace")
        found[leaf] = text if leaf == "availability" else _json_or_text(text)
        if len(found) == len(wanted):
            connection.done.set()

    connection.client.on_message = on_message
    connection.run(timeout_s, keepalive_s=10)
    return {"topic": topics.base, **found}


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return {"unparsed": text}


SELFTEST_AS_VERDICT = {"pass": "ok", "warn": "warn", "fail": "fail", "unknown": "unknown"}


def exit_code(found: dict[str, Any]) -> int:
    if found.get("availability") != "online":
        return 2 if found.get("availability") == "offline" else 3
    status = found.get("status")
    if not isinstance(status, dict):
        return 3
    return NAGIOS_CODE[_verdict(status.get("overall"))]


def show(settings: Settings, as_json: bool, timeout_s: float) -> int:
    try:
        found = fetch_retained(settings, timeout_s)
    except (ConnectionError, SecretError) as exc:
        if as_json:
            print(json.dumps({"error": str(exc)}, ensure_ascii=False))
        else:
            print(f"UNKNOWN: {exc}", file=sys.stderr)
        return 3
    code = exit_code(found)
    if as_json:
        print(json.dumps(found | {"exit_code": code}, ensure_ascii=False, indent=2))
    else:
        render(found, Console())
    return code


def render(found: dict[str, Any], console: Console) -> None:
    status = found.get("status") if isinstance(found.get("status"), dict) else {}
    availability = found.get("availability", "never seen")
    venue = status.get("venue", {})
    overall = status.get("overall", "unknown")
    console.print(f"[bold]{venue.get('name', found['topic'])}[/]  {found['topic']}")
    console.print(
        f"availability: [{'green' if availability == 'online' else 'bold red'}]{availability}[/]   "
        f"overall: [{STYLE[_verdict(overall)]}]{overall}[/]   status at {status.get('ts', '—')}"
    )
    table = Table(title="checks / 检查项", show_lines=False)
    for column in ("check", "verdict", "value", "threshold", "article", "message"):
        table.add_column(column)
    for key, finding in sorted(status.get("checks", {}).items()):
        verdict = finding.get("verdict", "unknown")
        value = finding.get("value")
        unit = finding.get("unit") or ""
        table.add_row(
            key,
            f"[{STYLE[_verdict(verdict)]}]{verdict}[/]",
            "" if value is None else f"{value} {unit}".strip(),
            "" if finding.get("threshold") is None else str(finding["threshold"]),
            finding.get("article", ""),
            f"{finding.get('message', {}).get('zh', '')}\n{finding.get('message', {}).get('en', '')}",
        )
    console.print(table)
    outbox = status.get("outbox")
    if outbox:
        console.print(
            f"outbox: {outbox['pending']} pending, dropped {outbox['dropped_events']} events / "
            f"{outbox['dropped_metrics']} metrics"
            + (f", [red]storage error: {outbox['storage_error']}[/]" if outbox.get("storage_error") else "")
            + (
                f", [red]{outbox['rejected_by_broker']} refused by the broker[/]"
                if outbox.get("rejected_by_broker")
                else ""
            )
        )
    render_conference(status.get("conference") or {}, console)
    selftest = found.get("selftest")
    if not isinstance(selftest, dict):
        console.print("last self-test: none yet")
        return
    failed = [item["check"] for item in selftest.get("items", []) if item.get("verdict") == "fail"]
    console.print(
        f"last self-test ({selftest.get('trigger')}, {selftest.get('conference_id') or 'no conference'}): "
        f"[{STYLE[_verdict(SELFTEST_AS_VERDICT.get(selftest.get('verdict'), 'unknown'))]}]{selftest.get('verdict')}[/]"
        f" at {selftest.get('ts')}" + (f" — failed: {', '.join(failed)}" if failed else "")
    )


def render_conference(conference: dict[str, Any], console: Console) -> None:
    """The conference in progress or next, and the last Art. 20 summary."""
    for current in conference.get("current") or []:
        console.print(
            f"in conference: {current.get('title') or current['id']} ({current['id']}) since {current['start']}"
        )
    following = conference.get("next")
    if following:
        console.print(f"next conference: {following.get('title') or following['id']} at {following['start']}")
    summary = conference.get("last_summary")
    if summary:
        console.print(
            f"last summary (Art. 20): {summary['title'] or summary['conference_id']} ran {summary['actual_min']} min"
            f" (allowed {summary['allowed_min'] or '—'}), Art. 17 ok ≥ {summary['art17_min_ok_pct']} % of the time,"
            f" {summary['incidents']} incident(s), {summary['call_drops']} call drop(s)"
        )
