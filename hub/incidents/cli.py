"""`venue-hub incidents -c FILE [--json] [--since HOURS]`: the incidents raised and how each sink is doing.

Read from the ledger in the hub's database (so it shows every hub process's work, not one process's
memory): per configured sink its kind, whether its URL/secret can be had, delivered / pending /
given-up counts, failed attempts and the last error (never the URL); then the recent incidents with
their delivery state per sink. Exit codes: 0 every sink healthy, 1 a sink has failed attempts or
pending deliveries, 2 a sink is unusable or has given incidents up, 3 no sinks configured.
"""

from __future__ import annotations

import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hub.cli.common import config_option, database_or_exit, print_json, settings_or_exit
from hub.incidents.ledger import Ledger, ensure_tables
from hub.incidents.sinks import Sink
from hub.scope import scope_path


@click.command("incidents", short_help="Incidents raised and each sink's delivery health.")
@config_option
@click.option(
    "--since",
    "since_h",
    type=click.FloatRange(0, 24 * 366),
    default=24.0,
    show_default=True,
    help="Hours of incidents to list.",
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def incidents_command(config_path: Path, since_h: float, as_json: bool) -> None:
    """Incidents of the last HOURS and every sink's delivered, pending and given-up counts."""
    settings = settings_or_exit(config_path)
    engine = database_or_exit(settings)
    try:
        ensure_tables(engine)
        ledger = Ledger(engine)
        tallies = {t.sink: t for t in ledger.tallies()}
        since = datetime.now(UTC) - timedelta(hours=since_h)
        incidents = ledger.incidents(since=since, venue_prefix="/".join(scope_path(settings.hub.scope)))
        deliveries = {i.key: ledger.deliveries(i.key) for i in incidents}
    finally:
        engine.dispose()
    sinks = []
    for config in settings.sink:
        probe = Sink(config)
        tally = tallies.get(config.name)
        sinks.append(
            {
                "name": config.name,
                "kind": config.kind,
                "usable": probe.usable,
                "problem": probe.problem,
                "delivered": tally.delivered if tally else 0,
                "pending": tally.pending if tally else 0,
                "given_up": tally.given_up if tally else 0,
                "failed_attempts": tally.failed_attempts if tally else 0,
                "last_error": tally.last_error if tally else None,
                "last_error_at": tally.last_error_at.isoformat() if tally and tally.last_error_at else None,
                "last_delivered_at": tally.last_delivered_at.isoformat() if tally and tally.last_delivered_at else None,
            }
        )
    if not sinks:
        code = 3
    elif any(not s["usable"] or s["given_up"] for s in sinks):
        code = 2
    elif any(s["failed_attempts"] or s["pending"] for s in sinks):
        code = 1
    else:
        code = 0
    listed = [
        {
            **incident.to_json(),
            "deliveries": {
                k: {**v, "delivered_at": v["delivered_at"].isoformat() if v["delivered_at"] else None}
                for k, v in deliveries[incident.key].items()
            },
        }
        for incident in incidents
    ]
    if as_json:
        print_json({"sinks": sinks, "incidents": listed})
        sys.exit(code)
    console = Console(highlight=False, width=shutil.get_terminal_size((160, 24)).columns)
    table = Table(title="通知渠道 / Sinks")
    for heading in (
        "名称\nName",
        "类型\nKind",
        "可用\nUsable",
        "已送达\nDelivered",
        "待发\nPending",
        "已放弃\nGiven up",
        "失败次数\nFailed attempts",
        "最近错误\nLast error",
    ):
        table.add_column(heading)
    for s in sinks:
        usable = "是 / yes" if s["usable"] else f"[red]否 / no: {escape(s['problem'] or '')}[/]"
        table.add_row(
            escape(s["name"]),
            s["kind"],
            usable,
            str(s["delivered"]),
            str(s["pending"]),
            str(s["given_up"]),
            str(s["failed_attempts"]),
            escape(s["last_error"] or "—"),
        )
    console.print(table)
    listing = Table(title=f"最近 {since_h:g} 小时的事件 / Incidents of the last {since_h:g} h")
    for heading in ("时间\nTime", "级别\nSeverity", "会场\nVenue", "内容\nMessage", "送达\nDeliveries"):
        listing.add_column(heading, overflow="fold")
    for item in listed:
        states = ", ".join(f"{name}: {d['state']}" for name, d in item["deliveries"].items()) or "—"
        listing.add_row(
            item["at"],
            item["severity"],
            escape(item["venue"]["key"]),
            escape(f"{item['message']['zh']} / {item['message']['en']}"),
            escape(states),
        )
    console.print(listing)
    sys.exit(code)
