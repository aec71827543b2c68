"""What every `venue-agent probe …` shares: Nagios exit codes, a findings table, HOST[:PORT] and
secrets by environment variable."""

from __future__ import annotations

import os

import click
from rich.console import Console
from rich.table import Table

from contract.findings import Finding, Verdict, worst

NAGIOS_CODE = {Verdict.OK: 0, Verdict.WARN: 1, Verdict.FAIL: 2, Verdict.UNKNOWN: 3}
NAGIOS_WORD = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}
STYLE = {Verdict.OK: "green", Verdict.WARN: "yellow", Verdict.FAIL: "bold red", Verdict.UNKNOWN: "dim"}


def exit_code(findings: list[Finding]) -> int:
    """Nagios plugin convention: the worst verdict decides (unknown only when nothing is worse)."""
    verdicts = [f.verdict for f in findings]
    if not verdicts:
        return 3
    top = worst(verdicts)
    return NAGIOS_CODE[top]


def findings_json(findings: list[Finding]) -> list[dict]:
    return [
        {
            "check": f.check,
            "verdict": f.verdict.value,
            "value": f.value,
            "threshold": f.threshold,
            "unit": f.unit,
            "article": f.article,
            "subject": f.subject,
            "code": f.code,
            "message": {"zh": f.message.zh, "en": f.message.en},
        }
        for f in findings
    ]


def print_findings(console: Console, findings: list[Finding]) -> None:
    table = Table(title="findings / 检查结果")
    for column in ("check", "verdict", "value", "article", "message"):
        table.add_column(column)
    for f in findings:
        value = "" if f.value is None else f"{f.value} {f.unit or ''}".strip()
        table.add_row(
            f.check, f"[{STYLE[f.verdict]}]{f.verdict.value}[/]", value, f.article, f"{f.message.zh}\n{f.message.en}"
        )
    console.print(table)
    code = exit_code(findings)
    console.print(f"[bold]{NAGIOS_WORD[code]}[/] (exit {code})")


def print_metrics(console: Console, title: str, metrics: dict, value_heading: str = "value") -> None:
    """A two-column table of a probe's metrics; absent values show as a dash."""
    table = Table(title=title)
    table.add_column("metric")
    table.add_column(value_heading)
    for name, value in metrics.items():
        absent = value is None or (isinstance(value, float) and value != value)  # None or NaN
        table.add_row(name, "—" if absent else str(value))
    console.print(table)


def split_host_port(text: str, default_port: int) -> tuple[str, int]:
    """HOST, HOST:PORT or [IPv6]:PORT; a port that is not a number is a usage error, not a crash."""
    try:
        if text.startswith("[") and "]" in text:  # [IPv6]:port
            host, _, rest = text[1:].partition("]")
            return host, int(rest.lstrip(":") or default_port)
        if text.count(":") == 1:
            host, port = text.split(":")
            return host, int(port)
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected HOST or HOST:PORT", param_hint="HOST[:PORT]") from None
    return text, default_port


def env_secret(variable: str | None, option: str) -> str | None:
    """A secret a probe is given by environment variable name (never on the command line)."""
    if variable is None:
        return None
    if variable not in os.environ:
        raise click.UsageError(f"{option}: environment variable {variable} is not set")
    return os.environ[variable]
