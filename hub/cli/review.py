"""`venue-hub review -c FILE CONFERENCE_ID [--json] [--xlsx FILE]`: the Art. 20 review of one conference.

A table by default, `--json` for scripts, `--xlsx` for the office's spreadsheet (both may be given).
Exit codes (Nagios-style): 0 every venue ok, 1 a warning, 2 a venue failed (never joined, a critical
summary, a failed or unanswered roll call), 3 the hub knows nothing of that conference.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hub.cli.common import config_option, database_or_exit, print_json, settings_or_exit
from hub.reports.common import local_text
from hub.reports.review import Review, build_review
from hub.reports.texts import heading_lines, verdict_name

STYLES = {"ok": "green", "warn": "yellow", "fail": "red", "unknown": "dim"}


def console() -> Console:
    """A console as wide as the terminal, or 160 columns when writing to a file or a pipe."""
    return Console(highlight=False, width=shutil.get_terminal_size((160, 24)).columns)


def _number(value: float | int | None, suffix: str = "") -> str:
    return "—" if value is None else f"{value:g}{suffix}"


def render_table(review: Review, console: Console) -> None:
    title = f"{review.title or review.conference_id}（{review.conference_id}）"
    console.print(
        f"[bold]会议点评（第二十条）/ Conference review (Art. 20)[/bold]：{escape(title)}　"
        f"{escape(local_text(review.start) or '—')}（北京时间）　{verdict_name(review.verdict)}"
    )
    if not review.known:
        console.print("本中心没有该会议的日程或会后小结 / the hub has no schedule and no summary of this conference")
        return
    table = Table(show_lines=False)
    table.add_column(heading_lines("venue"), overflow="fold", min_width=24)
    for name in ("verdict", "joined", "actual_min", "art17_min_ok_pct", "device_incidents", "call_drops"):
        table.add_column(heading_lines(name))
    table.add_column(heading_lines("alerts"))
    table.add_column(heading_lines("rollcall"))
    table.add_column(heading_lines("liaison"))
    for v in review.venues:
        call = v.rollcall
        if call is None:
            rollcall = "—"
        elif not call["answered"]:
            rollcall = "未应答 / silent"
        else:
            rollcall = f"{call['verdict']} {_number(call['seconds'], ' s')}"
        duration = "—" if v.actual_min is None else f"{v.actual_min:g} / {_number(v.allowed_min)}"
        liaison = " ".join(x for x in (v.contacts.get("liaison"), v.contacts.get("liaison_phone")) if x) or "—"
        table.add_row(
            escape(f"{v.venue}\n{v.name or ''}".strip()),
            f"[{STYLES[v.verdict]}]{verdict_name(v.verdict)}[/]",
            {"yes": "是 / yes", "no": "否 / no", "pending": "待定 / pending"}[v.joined],
            duration + (" ⚠" if v.over_limit else ""),
            _number(v.art17_min_ok_pct, " %"),
            _number(v.device_incidents),
            _number(v.call_drops),
            f"{len(v.alerts)}" + (f" / 离线 lost {len(v.lost)}" if v.lost else ""),
            escape(rollcall),
            escape(liaison),
        )
    console.print(table)
    for v in review.venues:
        for reason in v.reasons:
            console.print(f"  {escape(v.venue)}: {escape(reason.zh)} / {escape(reason.en)}")
    counts = review.counts()
    console.print(
        f"会场 {counts['total']} / venues: ok {counts['ok']}, warn {counts['warn']}, fail {counts['fail']}, "
        f"unknown {counts['unknown']}; 未入会 never joined {counts['never_joined']}"
    )


@click.command("review", short_help="Art. 20 review of one conference (table, --json, --xlsx).")
@config_option
@click.argument("conference_id")
@click.option("--json", "as_json", is_flag=True, help="Print the review as JSON.")
@click.option("--xlsx", "xlsx_path", type=click.Path(path_type=Path, dir_okay=False), help="Also write a spreadsheet.")
def review_command(config_path: Path, conference_id: str, as_json: bool, xlsx_path: Path | None) -> None:
    """The Art. 20 review of CONFERENCE_ID: every venue's summary, alerts, roll call and verdict."""
    settings = settings_or_exit(config_path)
    engine = database_or_exit(settings)
    try:
        review = build_review(engine, conference_id, settings.hub.scope)
    finally:
        engine.dispose()
    if xlsx_path is not None:
        from hub.reports.xlsx import write_review  # openpyxl takes a second to import: only when asked for

        try:
            write_review(review, xlsx_path)
        except OSError as exc:
            click.echo(f"cannot write {xlsx_path}: {exc.strerror or exc}", err=True)
            sys.exit(3)
    if as_json:
        print_json(review.to_json())
    else:
        render_table(review, console())
    sys.exit(review.exit_code)
