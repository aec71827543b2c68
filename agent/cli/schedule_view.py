"""`venue-agent schedule`: the conferences ahead and the Art. 14 checkpoints the agent will act on —
the schedule the daemon holds (agent/cli/held_schedule.py): the config's, the .ics file's and each
office's pushed conferences, each said with where it came from."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.cli.held_schedule import CONFIG, ICS, HeldSchedule, held_schedule
from agent.cli.language import said
from agent.cli.messages import say
from agent.cli.venue_time import local, zone_line, zone_named
from agent.config.models import Settings
from agent.schedule.timeline import DURATION_LIMITS, checkpoints
from contract.conference import Conference


def all_conferences(settings: Settings) -> tuple[list[Conference], list[str]]:
    """The conferences the daemon holds (config, .ics, pushed) and, in English, what could not be read."""
    held = held_schedule(settings, datetime.now(UTC))
    return [conference for conference, _ in held.conferences], [notice.en for notice in held.notices]


def schedule_document(
    settings: Settings, now: datetime, include_past: bool, held: HeldSchedule | None = None
) -> list[dict]:
    """The conferences ahead (or all, `include_past`) with their checkpoints and their origin:
    `source` is `config`, `ics` or `pushed`, and `office` the scope of the office that pushed it."""
    zone = ZoneInfo(settings.schedule.timezone)
    document = []
    held = held or held_schedule(settings, now)
    for conference, origin in held.conferences:
        if conference.end <= now and not include_past:
            continue
        limits = DURATION_LIMITS[conference.kind]
        document.append(
            {
                "id": conference.id,
                "title": conference.title,
                "kind": conference.kind,
                "start": conference.start.astimezone(zone).isoformat(),
                "duration_min": conference.duration_min,
                "allowed_min": None if limits is None else limits[1],
                "over_art3_limit": limits is not None and conference.duration_min > limits[1],
                "far_end": conference.far_end,
                "source": origin if origin in (CONFIG, ICS) else "pushed",
                "office": None if origin in (CONFIG, ICS) else origin,
                "checkpoints": [
                    {"kind": p.kind.value, "at": p.at.astimezone(zone).isoformat()}
                    for p in checkpoints(conference, zone)
                ],
            }
        )
    return document


def show(settings: Settings, as_json: bool, include_past: bool) -> int:
    """Print the schedule; exit 0, or 3 (UNKNOWN) when the pushed schedule cannot be read — an
    empty list then is not "no conferences", and a check must not read it as such."""
    now = datetime.now(UTC)
    held = held_schedule(settings, now)
    document = schedule_document(settings, now, include_past, held)
    status = 3 if held.pushed_unreadable else 0
    for notice in held.notices:  # stderr, in the chosen language (the JSON on stdout stays clean)
        click.echo(f"{'UNKNOWN' if held.pushed_unreadable else 'warning'}: {said(notice)}", err=True)
    if as_json:
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return status
    console = Console()
    if not document:
        if not held.pushed_unreadable:
            console.print(say("cli.no_conferences"))
        return status
    zone = zone_named(settings.schedule.timezone)
    console.print(zone_line(zone, now))  # the JSON keeps each time's offset; the screen says it once
    for item in document:
        warning = f" [red]({say('cli.longer_than_art3')})[/]" if item["over_art3_limit"] else ""
        origin = {"config": say("cli.from_config"), "ics": say("cli.from_ics")}.get(
            item["source"], say("cli.pushed_by", office=item["office"])
        )
        console.print(
            f"[bold]{escape(item['id'])}[/] {escape(item['title'])} — {item['kind']}, {local(item['start'], zone)}, "
            f"{item['duration_min']} min{warning} — {escape(origin)}"
        )
        table = Table(show_header=True)
        table.add_column("checkpoint", no_wrap=True)
        table.add_column("at", no_wrap=True)
        for point in item["checkpoints"]:
            table.add_row(point["kind"], local(point["at"], zone))
        console.print(table)
    return status
