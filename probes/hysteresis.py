"""Graded verdicts that do not flap: a value must clear a threshold by a margin to improve.

Used by the windowed AV checks: the window's median goes in, a verdict comes out, and the verdict
only gets better once the median is back past the threshold by `margin` (a fraction of it).
"""

from __future__ import annotations

from dataclasses import dataclass

from contract.findings import Verdict, severity_rank
from probes.grading import graded


@dataclass(frozen=True)
class Band:
    """warn/fail thresholds for one direction: `low` means small values are bad."""

    warn: float
    fail: float
    low: bool
    margin: float = 0.1

    def raw(self, value: float, tighten: float = 0.0) -> Verdict:
        """Verdict of `value`, with thresholds moved `tighten` × threshold towards the good side."""

        def shifted(threshold: float) -> float:
            return threshold * (1 + tighten) if self.low else threshold * (1 - tighten)

        return graded(value, shifted(self.warn), shifted(self.fail), self.low)

    def judge(self, value: float, previous: Verdict | None) -> Verdict:
        now = self.raw(value)
        if previous is None or previous is Verdict.UNKNOWN or severity_rank(now) >= severity_rank(previous):
            return now
        # Improving: only as far as the value clears the thresholds by the margin.
        cleared = self.raw(value, tighten=self.margin)
        return cleared if severity_rank(cleared) < severity_rank(previous) else previous
