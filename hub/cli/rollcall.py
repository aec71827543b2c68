"""`venue-hub rollcall -c FILE [--conference ID] [--deadline S] [--json] [--csv FILE]`: the roll call (点名)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from contract.secrets import SecretError, resolve_password
from hub.cli.common import EXIT_CRITICAL, EXIT_UNKNOWN, config_option, database_or_exit, print_json, settings_or_exit
from hub.commands.requests import BrokerUnavailable
from hub.commands.rollcall import RollCallResult, run_rollcall

VERDICT_STYLE = {"pass": "green", "warn": "yellow", "unknown": "yellow", "fail": "red"}
CSV_COLUMNS = ("venue", "answered", "verdict", "failed_items", "seconds", "liaison_name", "liaison_phone")


def _liaison_text(liaison: dict | None) -> str:
    return " ".join(str(v) for v in ((liaison or {}).get("name"), (liaison or {}).get("phone")) if v)


def write_csv(path: Path, result: RollCallResult) -> None:
    """UTF-8 with a BOM, so Excel and WPS open the Chinese names right."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for row in result.rows:
            liaison = row["liaison"] or {}
            writer.writerow(
                [
                    row["venue"],
                    "yes" if row["answered"] else "no",
                    row["verdict"] or "silent",
                    ";".join(row["failed_items"]),
                    "" if row["seconds"] is None else row["seconds"],
                    liaison.get("name") or "",
                    liaison.get("phone") or "",
                ]
            )


def print_table(result: RollCallResult) -> None:
    title = f"点名 / roll call {result.id[:8]}" + (f" — {result.conference_id}" if result.conference_id else "")
    table = Table(title=title)
    for heading in ("会场 venue", "应答 answered", "结论 verdict", "未通过项 failed", "用时 s", "联络员 liaison"):
        table.add_column(heading)
    for row in result.rows:
        verdict = row["verdict"] or "silent"
        style = VERDICT_STYLE.get(verdict, "red")
        error = result.error_codes.get(row["venue"])
        table.add_row(
            escape(row["venue"]),
            "是 yes" if row["answered"] else "否 no",
            f"[{style}]{escape(verdict + (f' ({error})' if error else ''))}[/]",
            escape(", ".join(str(i) for i in row["failed_items"])),
            "" if row["seconds"] is None else f"{row['seconds']:.1f}",
            escape(_liaison_text(row["liaison"])),
        )
    Console().print(table)
    s = result.summary
    click.echo(
        f"total {s['total']}, answered {s['answered']}: pass {s['pass']}, warn {s['warn']}, fail {s['fail']}, "
        f"silent {s['silent']}"
    )


@click.command("rollcall")
@config_option
@click.option(
    "--conference", "conference_id", default=None, help="Call only this conference's venues (and test for it)."
)
@click.option(
    "--deadline",
    "deadline_s",
    type=click.FloatRange(1, 3600),
    default=60.0,
    show_default=True,
    help="Seconds to wait for the answers.",
)
@click.option("--framing", is_flag=True, help="Add the Art. 15/16 framing checks to each self-test.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {venues: […], summary: {…}}.")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the rows to this CSV file.",
)
def rollcall(
    config_path: Path, conference_id: str | None, deadline_s: float, framing: bool, as_json: bool, csv_path: Path | None
) -> None:
    """Ask every venue in scope for a self-test now; exit 0 all pass, 1 warnings, 2 any fail or silent."""
    settings = settings_or_exit(config_path)
    try:
        password = resolve_password(settings.broker)
    except SecretError as exc:
        click.echo(f"{config_path}: {exc}", err=True)
        sys.exit(EXIT_CRITICAL)
    engine = database_or_exit(settings)
    try:
        result = run_rollcall(settings, engine, password, conference_id, deadline_s, framing)
    except BrokerUnavailable as exc:
        click.echo(str(exc), err=True)
        sys.exit(EXIT_UNKNOWN)
    if csv_path is not None:
        write_csv(csv_path, result)
    if as_json:
        print_json(result.as_json())
    else:
        print_table(result)
    if result.summary["total"] == 0:
        click.echo(
            "no venue to call: none known in scope" + (f" for {conference_id}" if conference_id else ""), err=True
        )
    sys.exit(result.exit_code)
