"""The one rule that turns a value and two thresholds into a verdict.

A value *at* a threshold has reached it (≥ where large values are bad, ≤ where small ones are), as
docs/snmp.md documents: 5 % call loss with a 5 % fail threshold fails, whether the loss was read
over SNMP, over SSH or measured on the path to the far end. Every judgement with warn/fail
thresholds grades through `graded`, so the same number never gets two verdicts.
"""

from __future__ import annotations

from contract.findings import Verdict


def graded(value: float, warn: float, fail: float, low: bool = False) -> Verdict:
    """FAIL at or past `fail`, WARN at or past `warn`, else OK; `low` means small values are bad."""

    def reached(threshold: float) -> bool:
        return value <= threshold if low else value >= threshold

    if reached(fail):
        return Verdict.FAIL
    if reached(warn):
        return Verdict.WARN
    return Verdict.OK
