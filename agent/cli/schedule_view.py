"""`venue-agent schedule`: the conferences ahead and the Art. 14 checkpoints the agent will act on."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.cli.venue_time import local, zone_line, zone_named
from agent.config.models import Settings
from agent.schedule.timeline import DURATION_LIMITS, checkpoints
from contract.conference import Conference
from contract.schedule_ics import IcsError, read_ics


def all_conferences(settings: Settings) -> tuple[list[Conference], list[str]]:
    """The config's conferences and those of the .ics file, with what could not be read."""
    conferences, problems = list(settings.conference), []
    if settings.schedule.ics_file is not None:
        try:
            from_ics, problems = read_ics(settings.schedule.ics_file, ZoneInfo(settings.schedule.timezone))
        except IcsError as exc:
            return conferences, [str(exc)]
        known = {c.id for c in conferences}
        conferences += [c for c in from_ics if c.id not in known]
    return conferences, problems


def schedule_document(settings: Settings, now: datetime, include_past: bool) -> list[dict]:
    zone = ZoneInfo(settings.schedule.timezone)
    document = []
    conferences, problems = all_conferences(settings)
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    for conference in sorted(conferences, key=lambda c: c.start):
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
                "checkpoints": [
                    {"kind": p.kind.value, "at": p.at.astimezone(zone).isoformat()}
                    for p in checkpoints(conference, zone)
                ],
            }
        )
    return document


def show(settings: Settings, as_json: bool, include_past: bool) -> None:
    now = datetime.now(UTC)
    document = schedule_document(settings, now, include_past)
    if as_json:
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    console = Console()
    if not document:
        console.print("no conferences ahead / 暂无会议安排")
        return
    zone = zone_named(settings.schedule.timezone)
    console.print(zone_line(zone, now))  # the JSON keeps each time's offset; the screen says it once
    for item in document:
        warning = " [red](longer than Art. 3 allows)[/]" if item["over_art3_limit"] else ""
        console.print(
            f"[bold]{escape(item['id'])}[/] {escape(item['title'])} — {item['kind']}, {local(item['start'], zone)}, "
            f"{item['duration_min']} min{warning}"
        )
        table = Table(show_header=True)
        table.add_column("checkpoint", no_wrap=True)
        table.add_column("at", no_wrap=True)
        for point in item["checkpoints"]:
            table.add_row(point["kind"], local(point["at"], zone))
        console.print(table)
