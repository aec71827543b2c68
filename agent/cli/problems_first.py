"""Tables that put the problems first: a one-line summary, the rows that are not ok, then the rest.

Every table view (`status`, `selftest`, the probes) lists its rows through here, so a technician
looking at 40 checks over SSH sees the six that matter at the top, and `--problems` leaves out
the rest. Names (check ids, interfaces) are never cut: their column is as wide as the longest
name, and long words in other cells fold rather than end in an ellipsis (rich's default).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.cli.messages import say
from agent.cli.verdicts import graded, headline, style
from contract.findings import Verdict, severity_rank

MIDDLE_WIDTH = 10  # a value or threshold column at most: "42.0 °C" fits, a long text folds


@dataclass(frozen=True)
class Row:
    """One line of a view: a name (plain text), its verdict and the other cells (rich markup, so
    whoever builds a row escapes what a device or a retained payload wrote)."""

    name: str
    verdict: Verdict
    cells: tuple[str, ...]
    advisory: bool = False
    label: str | None = None  # the verdict as the payload words it (a self-test's `pass`), else its value


def measured(value: object, threshold: object, unit: object) -> str:
    """`3.0 %` over `/ 1 %`: the value and the threshold it was judged against in one narrow cell
    (one column fewer leaves the message room for a port's name at 80 columns)."""
    suffix = f" {unit}" if unit else ""
    shown = "" if value is None else f"{value}{suffix}"
    if threshold is not None:
        shown += f"\n/ {threshold}{suffix}"
    return shown


def overall(rows: Sequence[Row]) -> Verdict:
    """The verdict the rows give: the worst of those that are graded (advisories are not)."""
    return graded(row.verdict for row in rows if not row.advisory)


NOUNS_ZH = {"checks": "检查", "items": "自检项"}


def summary(verdict: Verdict, rows: Sequence[Row], noun: str = "checks") -> str:
    """`WARNING (exit 1): 2 of 14 checks not ok (1 warn, 1 unknown); 1 advisory` — one line, in
    the chosen language; the word and its exit code (what Nagios and scripts read) are the same
    in every language."""
    graded_rows = [row for row in rows if not row.advisory]
    problems = [row for row in graded_rows if row.verdict is not Verdict.OK]
    counts = {v: sum(row.verdict is v for row in problems) for v in (Verdict.FAIL, Verdict.WARN, Verdict.UNKNOWN)}
    detail = ", ".join(f"{n} {v.value}" for v, n in counts.items() if n)
    noun_zh = NOUNS_ZH.get(noun, noun)
    parts = [say("cli.summary", count=len(problems), total=len(graded_rows), noun=noun, noun_zh=noun_zh)]
    if detail:
        parts[0] += f" ({detail})"
    advisories = [row for row in rows if row.advisory and row.verdict is not Verdict.OK]
    if advisories:  # short: Nagios shows the first line; the table says more
        parts.append(say("cli.summary_advisory", count=len(advisories)))
    return f"{headline(verdict)}: " + "; ".join(parts)


def _by_severity(rows: Sequence[Row]) -> list[Row]:
    return sorted(rows, key=lambda row: (-severity_rank(row.verdict), row.name))


def print_rows(
    console: Console, title: str, columns: Sequence[str], rows: Sequence[Row], problems_only: bool = False
) -> None:
    """The problems table, then the advisories, then (unless `problems_only`) every ok row."""
    print_problems(console, columns, rows)
    print_rest(console, title, columns, rows, problems_only)


def print_problems(console: Console, columns: Sequence[str], rows: Sequence[Row]) -> None:
    """The rows that are not ok, worst first, and the advisories (which grade nothing)."""
    problems = _by_severity([row for row in rows if not row.advisory and row.verdict is not Verdict.OK])
    advisories = _by_severity([row for row in rows if row.advisory])
    width = _name_width(rows)
    if problems:
        console.print(_table(say("cli.problems_title", count=len(problems)), columns, problems, width))
    if advisories:
        console.print(_table(say("cli.advisory_title"), columns, advisories, width))


def print_rest(
    console: Console, title: str, columns: Sequence[str], rows: Sequence[Row], problems_only: bool = False
) -> None:
    """The ok rows, by name; with `problems_only` only how many were left out. `title` is already
    in the chosen language (a `cli.*_title` said)."""
    rest = sorted((row for row in rows if not row.advisory and row.verdict is Verdict.OK), key=lambda row: row.name)
    if rest and problems_only:
        console.print(say("cli.ok_not_shown", count=len(rest)))
    elif rest:
        console.print(_table(f"{title} — ok ({len(rest)})", columns, rest, _name_width(rows)))


def _name_width(rows: Sequence[Row]) -> int:
    """One width for the name column of every table of a view, so that they line up."""
    return max((cell_len(row.name) for row in rows), default=0)


def _table(title: str, columns: Sequence[str], rows: Sequence[Row], name_width: int) -> Table:
    """Names whole on one line; values and thresholds narrow (they fold), so that the message
    keeps room for a long word (an interface, an address) at 80 columns."""
    table = Table(title=title, title_justify="left")
    table.add_column(columns[0], no_wrap=True, min_width=name_width, overflow="fold")
    table.add_column(columns[1], no_wrap=True)
    for heading in columns[2:-1]:
        table.add_column(heading, overflow="fold", max_width=MIDDLE_WIDTH)
    table.add_column(columns[-1], overflow="fold")
    said: dict[str, str] = {}
    for row in rows:
        *cells, message = row.cells
        if row.verdict is not Verdict.OK and message in said:  # a lost source: its reason once, not four times
            message = escape(say("cli.same_as", name=said[message]))
        else:
            said.setdefault(message, row.name)
        table.add_row(escape(row.name), f"[{style(row.verdict)}]{row.label or row.verdict.value}[/]", *cells, message)
    return table
