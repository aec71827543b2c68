"""`venue-hub evaluate -c FILE --year Y [--rules FILE] [--json] [--xlsx FILE]`: the Art. 21–22 evaluation.

The scoring rules are data: the shipped default (hub/reports/scoring-default.toml, labelled as not
the official annex) unless the config's `[evaluation] rules` or `--rules FILE` (which wins) names an
office's own. Exit codes: 0 no venue below pass and no serious problem, 1 a venue below pass, 2 a
serious problem (Art. 22), 3 no venue in scope or unusable rules.
"""

from __future__ import annotations

import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hub.cli.common import config_option, database_or_exit, print_json, settings_or_exit
from hub.reports.evaluation import Evaluation, build_evaluation
from hub.reports.scoring import RulesError, load_rules
from hub.reports.texts import heading_lines


def console() -> Console:
    """A console as wide as the terminal, or 160 columns when writing to a file or a pipe."""
    return Console(highlight=False, width=shutil.get_terminal_size((160, 24)).columns)


def _number(value: float | int | None, suffix: str = "") -> str:
    return "—" if value is None else f"{value:g}{suffix}"


def render_table(evaluation: Evaluation, console: Console) -> None:
    official = "官方 / official" if evaluation.rules_official else "[yellow]非官方默认规则 / NOT the official annex[/]"
    console.print(
        f"[bold]{evaluation.year} 年度考评（第二十一、二十二条）/ Evaluation {evaluation.year} (Art. 21–22)[/bold]"
    )
    console.print(f"评分规则 / Rules: {escape(evaluation.rules_name)} — {official}")
    table = Table()
    table.add_column(heading_lines("venue"), overflow="fold", min_width=24)
    table.add_column("会议 入会/应到\nHeld/scheduled")
    table.add_column("点名 应答/通过/次\nRoll calls")
    table.add_column("自检通过率\nSelf-test pass")
    table.add_column("会中告警\nAlerts")
    table.add_column("图像声音合格\nArt. 17 ok")
    table.add_column("会中在线\nOnline")
    table.add_column(heading_lines("score"))
    table.add_column(heading_lines("grade"))
    table.add_column(heading_lines("award"))
    for v in evaluation.venues:
        m = v.metrics
        grade = escape(v.scored.grade)
        if v.serious:
            grade = f"[red]{grade} ⚠ {escape('；'.join(s.label for s in v.scored.serious))}[/]"
        elif v.scored.below_pass:
            grade = f"[yellow]{grade}[/]"
        table.add_row(
            escape(f"{v.venue}\n{v.name or ''}".strip()),
            f"{m['conferences_held']}/{m['conferences_scheduled']}",
            f"{m['rollcalls_answered']}/{m['rollcalls_passed']}/{m['rollcalls']}",
            _number(m["selftest_pass_pct"], " %"),
            f"{m['incidents']} ({m['incidents_critical']} 严重)",
            _number(m["art17_ok_pct"], " %"),
            _number(m["availability_pct"], " %"),
            f"{v.scored.score:g}",
            grade,
            "是 / yes" if v.award_eligible else "否 / no",
        )
    console.print(table)
    for v in evaluation.venues:
        for note in v.notes:
            console.print(f"  {escape(v.venue)}: {escape(note.zh)} / {escape(note.en)}")


@click.command("evaluate", short_help="Art. 21–22 yearly evaluation of every venue (table, --json, --xlsx).")
@config_option
@click.option("--year", type=click.IntRange(2000, 2199), required=True, help="Calendar year (Beijing time).")
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Scoring rules (TOML); default: the config's [evaluation] rules, else the shipped, non-official default.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the evaluation as JSON.")
@click.option("--xlsx", "xlsx_path", type=click.Path(path_type=Path, dir_okay=False), help="Also write a spreadsheet.")
def evaluate_command(
    config_path: Path, year: int, rules_path: Path | None, as_json: bool, xlsx_path: Path | None
) -> None:
    """The Art. 21–22 evaluation of YEAR: every venue's conferences, roll calls, self-tests, quality, score."""
    settings = settings_or_exit(config_path)
    try:
        rules, used = load_rules(rules_path or settings.evaluation.rules)  # --rules, the config's, the default
    except RulesError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        sys.exit(3)
    engine = database_or_exit(settings)
    try:
        evaluation = build_evaluation(engine, year, settings.hub.scope, rules, used, now=datetime.now(UTC))
    finally:
        engine.dispose()
    if xlsx_path is not None:
        from hub.reports.xlsx import write_evaluation  # openpyxl takes a second to import: only when asked for

        try:
            write_evaluation(evaluation, rules, xlsx_path)
        except OSError as exc:
            click.echo(f"cannot write {xlsx_path}: {exc.strerror or exc}", err=True)
            sys.exit(3)
    if as_json:
        print_json(evaluation.to_json())
    else:
        render_table(evaluation, console())
    sys.exit(evaluation.exit_code)
