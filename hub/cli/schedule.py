"""`venue-hub schedule push -c FILE CONFERENCES [--deadline S] [--venue KEY …] [--json]`.

Exit codes: 0 every venue accepted, 1 some did not answer (none refused), 2 any refused, 3 no venue
in scope (or the broker unreachable).
"""

from __future__ import annotations

import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from contract.secrets import SecretError, resolve_password
from hub.cli.common import EXIT_CRITICAL, EXIT_UNKNOWN, config_option, database_or_exit, print_json, settings_or_exit
from hub.commands.requests import BrokerUnavailable
from hub.schedule.push import push_schedule
from hub.schedule.read import ScheduleFileError, read_schedule


@click.group("schedule")
def schedule_group() -> None:
    """The conference schedule the office pushes to its venues."""


@schedule_group.command("push")
@config_option
@click.argument("conferences_path", metavar="CONFERENCES", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--deadline",
    "deadline_s",
    type=click.FloatRange(1, 600),
    default=15.0,
    show_default=True,
    help="Seconds to wait for the venues' answers.",
)
@click.option("--venue", "only", multiple=True, help="Push only to this venue (province/prefecture/county/id); repeat.")
@click.option(
    "--timezone",
    "zone_name",
    default="Asia/Shanghai",
    show_default=True,
    help="Zone of floating times in an .ics file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: one object per venue.")
def push(
    config_path: Path, conferences_path: Path, deadline_s: float, only: tuple[str, ...], zone_name: str, as_json: bool
) -> None:
    """Push CONFERENCES (TOML [[conference]] or .ics) to every venue in scope; print who accepted it."""
    settings = settings_or_exit(config_path)
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        click.echo(f"--timezone: unknown time zone {zone_name!r}", err=True)
        sys.exit(EXIT_CRITICAL)
    try:
        conferences = read_schedule(conferences_path, zone)
    except ScheduleFileError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        sys.exit(EXIT_CRITICAL)
    try:
        password = resolve_password(settings.broker)
    except SecretError as exc:
        click.echo(f"{config_path}: {exc}", err=True)
        sys.exit(EXIT_CRITICAL)
    engine = database_or_exit(settings)
    try:
        result = push_schedule(settings, engine, password, conferences, deadline_s, list(only) or None)
    except BrokerUnavailable as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_UNKNOWN)
    if as_json:
        print_json(result.rows)
    else:
        table = Table(title=f"会议计划下发 / schedule push: {len(conferences)} conference(s)")
        for heading in ("会场 venue", "状态 state", "结果 result", "会议数 conferences", "原因 reason"):
            table.add_column(heading)
        for row in result.rows:
            outcome = {
                True: "[green]接受 accepted[/]",
                False: "[red]拒绝 refused[/]",
                None: "[yellow]无应答 no answer[/]",
            }
            error = row["error"] or {}
            table.add_row(
                escape(row["venue"]),
                row["state"],
                outcome[row["accepted"]],
                "" if row["conferences"] is None else str(row["conferences"]),
                escape(f"{error.get('code', '')} {error.get('message', {}).get('en', '')}".strip()),
            )
        Console().print(table)
        accepted = sum(1 for r in result.rows if r["accepted"])
        click.echo(f"{accepted} of {len(result.rows)} venue(s) accepted")
    if not result.rows:
        click.echo("no venue in scope to push to", err=True)
    sys.exit(result.exit_code)
