"""The one map from a verdict to what a person and Nagios read: exit code, word and colour.

Every view of the CLI (probes, `selftest`, `status`) prints the word this map gives for the code it
exits with, so the two never disagree. Self-test reports speak pass/warn/fail/unknown, findings
ok/warn/fail/unknown; both are read here. Advisory checks (Art. 15 framing, Art. 16 background)
are shown, but judge nothing: they change neither the word nor the exit code.
"""

from __future__ import annotations

from collections.abc import Iterable

from agent.selftest.report import FINDING_VERDICT
from contract.findings import Verdict, worst

NAGIOS_CODE = {Verdict.OK: 0, Verdict.WARN: 1, Verdict.FAIL: 2, Verdict.UNKNOWN: 3}
NAGIOS_WORD = {Verdict.OK: "OK", Verdict.WARN: "WARNING", Verdict.FAIL: "CRITICAL", Verdict.UNKNOWN: "UNKNOWN"}
STYLE = {Verdict.OK: "green", Verdict.WARN: "yellow", Verdict.FAIL: "bold red", Verdict.UNKNOWN: "magenta"}


def as_verdict(text: object) -> Verdict:
    """A finding's verdict (ok/warn/…) or a self-test's (pass/warn/…); anything else is unknown,
    as retained payloads are read back from the broker and may hold anything."""
    if isinstance(text, Verdict):
        return text
    if isinstance(text, str):
        if text in FINDING_VERDICT:
            return FINDING_VERDICT[text]
        try:
            return Verdict(text)
        except ValueError:
            pass
    return Verdict.UNKNOWN


def graded(verdicts: Iterable[object]) -> Verdict:
    """The Nagios convention: the worst verdict decides; nothing judged at all is unknown."""
    found = [as_verdict(v) for v in verdicts]
    return worst(found) if found else Verdict.UNKNOWN


def code(verdict: object) -> int:
    return NAGIOS_CODE[as_verdict(verdict)]


def word(verdict: object) -> str:
    return NAGIOS_WORD[as_verdict(verdict)]


def style(verdict: object) -> str:
    return STYLE[as_verdict(verdict)]


def headline(verdict: object) -> str:
    """`WARNING (exit 1)`, in the verdict's colour: the word and the code from the same verdict."""
    return f"[{style(verdict)}]{word(verdict)}[/] (exit {code(verdict)})"
