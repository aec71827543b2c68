"""`venue-hub venues -c FILE [--json]`: every venue in scope, its state, verdict and last self-test.

Exit codes (Nagios): 0 every venue online, 1 some never reported (and none lost), 2 any offline or
silent, 3 the database cannot be read.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hub.cli.common import (
    EXIT_CRITICAL,
    EXIT_OK,
    EXIT_WARNING,
    config_option,
    database_or_exit,
    print_json,
    settings_or_exit,
)
from hub.views.venues import venue_rows

STATE_STYLE = {"online": "green", "offline": "red", "silent": "red", "never": "yellow"}
STATE_ZH = {"online": "在线", "offline": "离线", "silent": "失联", "never": "从未上报"}


def exit_code(rows: list[dict]) -> int:
    states = {row["state"] for row in rows}
    if states & {"offline", "silent"}:
        return EXIT_CRITICAL
    if "never" in states:
        return EXIT_WARNING
    return EXIT_OK


def _liaison(contacts: dict) -> str:
    person = contacts.get("liaison") or {}
    return " ".join(str(part) for part in (person.get("name"), person.get("phone")) if part)


@click.command("venues")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list of venue objects).")
def venues(config_path: Path, as_json: bool) -> None:
    """Every venue in scope: state (online/offline/silent/never), verdict, failing checks, last self-test."""
    settings = settings_or_exit(config_path)
    rows = venue_rows(database_or_exit(settings), settings.hub)
    if as_json:
        print_json(rows)
    else:
        table = Table(title=f"会场 / venues — {settings.hub.scope}")
        for heading in (
            "会场 venue",
            "名称 name",
            "状态 state",
            "结论 overall",
            "异常项 failing",
            "最后上报 last seen",
            "自检 self-test",
            "联络员 liaison",
        ):
            table.add_column(heading)
        for row in rows:
            style = STATE_STYLE.get(row["state"], "")
            selftest = row["selftest"]
            table.add_row(
                escape(row["venue"]),
                escape(row["name"] or ""),
                f"[{style}]{STATE_ZH.get(row['state'], '')} {row['state']}[/]",
                row["overall"] or "",
                escape(", ".join(row["failing"])),
                row["last_seen"] or "",
                escape(f"{selftest['verdict']} ({selftest['trigger']}, {selftest['at']})") if selftest else "",
                escape(_liaison(row["contacts"])),
            )
        Console().print(table)
        counts = {state: sum(1 for r in rows if r["state"] == state) for state in STATE_ZH}
        click.echo(" ".join(f"{state} {n}" for state, n in counts.items()) + f" / total {len(rows)}")
    sys.exit(exit_code(rows))
