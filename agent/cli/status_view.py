"""`venue-agent status`: what the hub sees of this venue, read back from the broker's retained messages.

What is retained is whatever was last published on those topics — by this agent, an older or a
newer one, or anyone allowed to write there — so each leaf is read as untrusted input: bytes that
are not UTF-8, JSON nested past what the parser follows, more than `MAX_RETAINED_BYTES`, or a
payload that is not the contract's `venue-agent/status/1` / `venue-agent/selftest/1` shape make
the leaf unreadable. The command then says UNKNOWN with the reason and exits 3 (an `offline` venue
stays CRITICAL, 2) — never a traceback. Fields a newer agent added within the same major version
are tolerated.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.cli.probe_output import NAGIOS_CODE, STYLE
from agent.config.models import Settings
from agent.config.secrets import SecretError
from agent.mqtt.brief import BriefConnection
from contract.findings import Verdict
from contract.payloads import SelftestReport, Status
from contract.topics import VenueTopics

MAX_RETAINED_BYTES = 1024 * 1024  # a status of a venue with many devices is tens of kilobytes
AVAILABILITY = ("online", "offline")
JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


class Unreadable(ValueError):
    """Why a retained leaf cannot be shown."""


class _Brief(BaseModel):
    """A conference as the status lists it (current, next)."""

    model_config = ConfigDict(extra="ignore")
    id: str
    title: str = ""
    start: str


class _Summary(BaseModel):
    """The fields of the last Art. 20 summary that the table shows."""

    model_config = ConfigDict(extra="ignore")
    conference_id: str
    title: str | None = None
    actual_min: float
    allowed_min: int | None = None
    art17_min_ok_pct: float | None = None
    incidents: int
    call_drops: int


class _ConferenceShown(BaseModel):
    """`status.conference` is free-form in the contract; this is what the table reads of it."""

    model_config = ConfigDict(extra="ignore")
    current: list[_Brief] | None = None
    next: _Brief | None = None
    last_summary: _Summary | None = None


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
    received: dict[str, bytes] = {}
    connection = BriefConnection(settings, "status")
    connection.on_ready = lambda client: client.subscribe([(topic, 1) for topic in wanted])

    def on_message(client, userdata, message):  # paho's thread: keep the bytes, read them later
        leaf = wanted.get(message.topic)
        if leaf is None:
            return
        received[leaf] = bytes(message.payload)
        if len(received) == len(wanted):
            connection.done.set()

    connection.client.on_message = on_message
    connection.run(timeout_s, keepalive_s=10)
    return {"topic": topics.base, **read_retained(received)}


def read_retained(received: dict[str, bytes]) -> dict[str, Any]:
    """Each leaf as shown (text for availability, JSON for status and selftest); what cannot be
    read is left out and its reason put under `problems`."""
    found: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for leaf, payload in received.items():
        try:
            found[leaf] = _read_leaf(leaf, payload)
        except Unreadable as exc:
            problems[leaf] = str(exc)
    if problems:
        found["problems"] = problems
    return found


def _read_leaf(leaf: str, payload: bytes) -> Any:
    if len(payload) > MAX_RETAINED_BYTES:
        raise Unreadable(f"{len(payload)} bytes, more than the {MAX_RETAINED_BYTES} read")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8 text (byte {exc.start})") from None
    if leaf == "availability":
        if text not in AVAILABILITY:
            raise Unreadable(f"{text[:40]!r} is neither 'online' nor 'offline'")
        return text
    try:
        document = json.loads(text)
    except RecursionError:
        raise Unreadable("JSON nested too deeply") from None
    except ValueError as exc:
        raise Unreadable(f"not JSON ({exc})") from None
    try:  # a "\ud800" escape is valid JSON but no text a terminal (or --json) can be given
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise Unreadable("holds text that is not valid Unicode (a lone surrogate escape)") from None
    _conforms(document, Status if leaf == "status" else SelftestReport)
    if leaf == "status" and document.get("conference") is not None:
        _conforms(document["conference"], _ConferenceShown, "conference.")
    return document


def _conforms(document: Any, model: type[BaseModel], prefix: str = "") -> None:
    """Unreadable unless `document` is `model`'s shape; keys the model does not know are allowed."""
    if not isinstance(document, dict):
        kind = JSON_KINDS.get(type(document), type(document).__name__)
        raise Unreadable(f"{prefix or 'the payload '}is a JSON {kind}, not an object")
    try:
        model.model_validate(document)
    except ValidationError as exc:
        errors = [e for e in exc.errors() if e["type"] != "extra_forbidden"]
        if errors:
            shown = "; ".join(f"{prefix}{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}" for e in errors[:3])
            more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
            raise Unreadable(f"not a {model.__name__} payload: {shown}{more}") from None
    except RecursionError:
        raise Unreadable("nested too deeply to validate") from None


SELFTEST_AS_VERDICT = {"pass": "ok", "warn": "warn", "fail": "fail", "unknown": "unknown"}


def exit_code(found: dict[str, Any]) -> int:
    """Nagios: offline is CRITICAL; anything unreadable or never seen is UNKNOWN; else the overall verdict."""
    if found.get("availability") == "offline":
        return 2
    if found.get("problems") or found.get("availability") != "online":
        return 3
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
        console = Console()
        for leaf, reason in found.get("problems", {}).items():
            console.print(
                f"[bold]UNKNOWN[/]: the retained {leaf} on {found['topic']}/{leaf} cannot be read: {escape(reason)}",
                soft_wrap=True,  # one line, as a Nagios plugin's first line is read
            )
        render(found, console)
    return code


_CONTROL = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))}


def _text(value: object) -> str:
    """Retained text shown literally: a `[` in a venue name or a message is not rich markup, and a
    control character (an ESC that would clear the screen or retitle the terminal) is shown as its
    escape, not sent to the terminal: anyone who can write the status topic writes this text."""
    return escape("".join(_CONTROL.get(ord(ch), ch) for ch in str(value)))


def render(found: dict[str, Any], console: Console) -> None:
    status = found.get("status") if isinstance(found.get("status"), dict) else {}
    availability = found.get("availability", "never seen")
    venue = status.get("venue", {})
    overall = status.get("overall", "unknown")
    console.print(f"[bold]{_text(venue.get('name', found['topic']))}[/]  {_text(found['topic'])}")
    console.print(
        f"availability: [{'green' if availability == 'online' else 'bold red'}]{_text(availability)}[/]   "
        f"overall: [{STYLE[_verdict(overall)]}]{_text(overall)}[/]   status at {_text(status.get('ts', '—'))}"
    )
    if status:
        render_checks(status.get("checks", {}), console)
    outbox = status.get("outbox")
    if outbox:
        console.print(
            f"outbox: {_text(outbox['pending'])} pending, dropped {_text(outbox['dropped_events'])} events / "
            f"{_text(outbox['dropped_metrics'])} metrics"
            + (f", [red]storage error: {_text(outbox['storage_error'])}[/]" if outbox.get("storage_error") else "")
            + (
                f", [red]{_text(outbox['rejected_by_broker'])} refused by the broker[/]"
                if outbox.get("rejected_by_broker")
                else ""
            )
        )
    render_conference(status.get("conference") or {}, console)
    selftest = found.get("selftest")
    if not isinstance(selftest, dict):
        unreadable = "selftest" in found.get("problems", {})
        console.print("last self-test: cannot be read (see above)" if unreadable else "last self-test: none yet")
        return
    failed = [item["check"] for item in selftest.get("items", []) if item.get("verdict") == "fail"]
    style = STYLE[_verdict(SELFTEST_AS_VERDICT.get(selftest.get("verdict"), "unknown"))]
    conference_id = selftest.get("conference_id") or "no conference"
    console.print(
        f"last self-test ({_text(selftest.get('trigger'))}, {_text(conference_id)}): "
        f"[{style}]{_text(selftest.get('verdict'))}[/] at {_text(selftest.get('ts'))}"
        + (f" — failed: {_text(', '.join(failed))}" if failed else "")
    )


def render_checks(checks: dict[str, Any], console: Console) -> None:
    table = Table(title="checks / 检查项", show_lines=False)
    for column in ("check", "verdict", "value", "threshold", "article", "message"):
        table.add_column(column)
    for key, finding in sorted(checks.items()):
        verdict = finding.get("verdict", "unknown")
        value = finding.get("value")
        unit = finding.get("unit") or ""
        message = finding.get("message", {})
        table.add_row(
            _text(key),
            f"[{STYLE[_verdict(verdict)]}]{_text(verdict)}[/]",
            "" if value is None else _text(f"{value} {unit}".strip()),
            "" if finding.get("threshold") is None else _text(finding["threshold"]),
            _text(finding.get("article", "")),
            _text(f"{message.get('zh', '')}\n{message.get('en', '')}"),
        )
    console.print(table)


def render_conference(conference: dict[str, Any], console: Console) -> None:
    """The conference in progress or next, and the last Art. 20 summary."""
    for current in conference.get("current") or []:
        name = current.get("title") or current["id"]
        console.print(f"in conference: {_text(name)} ({_text(current['id'])}) since {_text(current['start'])}")
    following = conference.get("next")
    if following:
        name = following.get("title") or following["id"]
        console.print(f"next conference: {_text(name)} at {_text(following['start'])}")
    summary = conference.get("last_summary")
    if summary:
        allowed = summary.get("allowed_min") or "—"
        console.print(
            f"last summary (Art. 20): {_text(summary.get('title') or summary['conference_id'])} ran "
            f"{_text(summary['actual_min'])} min (allowed {_text(allowed)}), Art. 17 ok ≥ "
            f"{_text(summary.get('art17_min_ok_pct'))} % of the time, {_text(summary['incidents'])} incident(s), "
            f"{_text(summary['call_drops'])} call drop(s)"
        )
