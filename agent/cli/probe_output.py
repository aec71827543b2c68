"""What every `venue-agent probe …` shares: the verdict and exit code of its findings, the
findings table (problems first), HOST[:PORT] and secrets by environment variable."""

from __future__ import annotations

import os

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.cli.language import stacked
from agent.cli.messages import bad_parameter, columns, say, usage_error
from agent.cli.problems_first import Row, measured, overall, print_rows, summary
from agent.cli.verdicts import code
from contract.findings import Finding, Verdict, is_advisory

FINDING_COLUMNS = ("check", "verdict", "value_limit", "message")  # cli.column.* codes


def finding_rows(findings: list[Finding]) -> list[Row]:
    """One row per finding; a check found for several subjects (ports, inputs) names its subject."""
    rows = []
    repeated = {f.check for f in findings if sum(g.check == f.check for g in findings) > 1}
    for f in findings:
        name = f"{f.check}@{f.subject}" if f.check in repeated and f.subject else f.check
        message = f"{stacked(f.message.zh, f.message.en)}\n{f.article}"  # the chosen language (--lang)
        cells = (escape(measured(f.value, f.threshold, f.unit)), escape(message))
        rows.append(Row(name, f.verdict, cells, is_advisory(f.check)))
    return rows


def verdict_of(findings: list[Finding]) -> Verdict:
    """The worst graded finding; advisory ones (framing, background) are left out."""
    return overall(finding_rows(findings))


def exit_code(findings: list[Finding]) -> int:
    """Nagios plugin convention: the worst graded verdict decides; nothing judged is UNKNOWN."""
    return code(verdict_of(findings))


def findings_json(findings: list[Finding]) -> list[dict]:
    return [
        {
            "check": f.check,
            "verdict": f.verdict.value,
            "advisory": is_advisory(f.check),
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


def print_findings(console: Console, findings: list[Finding], problems_only: bool = False) -> int:
    """The summary line (the verdict word with its exit code), then the findings, problems first.
    Returns the exit code, so that the word printed and the code exited are one."""
    rows = finding_rows(findings)
    verdict = overall(rows)
    console.print(summary(verdict, rows), soft_wrap=True)
    print_rows(console, say("cli.findings_title"), columns(*FINDING_COLUMNS), rows, problems_only)
    return code(verdict)


def print_metrics(console: Console, title: str, metrics: dict, value_heading: str = "value") -> None:
    """A two-column table of a probe's metrics; absent values show as a dash."""
    table = Table(title=title, title_justify="left")
    table.add_column("metric", no_wrap=True)
    table.add_column(value_heading, overflow="fold")
    for name, value in metrics.items():
        absent = value is None or (isinstance(value, float) and value != value)  # None or NaN
        table.add_row(escape(name), "—" if absent else escape(str(value)))
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
        raise bad_parameter("cli.host_port", "HOST[:PORT]", text=repr(text)) from None
    return text, default_port


def env_secret(variable: str | None, option: str) -> str | None:
    """A secret a probe is given by environment variable name (never on the command line)."""
    if variable is None:
        return None
    if variable not in os.environ:
        raise usage_error("cli.env_unset", option=option, variable=variable)
    return os.environ[variable]
