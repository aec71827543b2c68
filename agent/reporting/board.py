"""The status aggregate: the current finding per check, device states, task states and metrics.

Monitors write into it; the publisher snapshots it into the retained `status` payload. A verdict
change is returned to the caller so that exactly one event is raised per change, not per poll.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from agent.devices.summary import DeviceSummary
from contract.findings import Finding, Verdict, is_advisory, worst
from contract.payloads import TaskState


@dataclass(frozen=True)
class Change:
    """A check whose verdict changed (previous is None for a check seen for the first time)."""

    finding: Finding
    previous: Verdict | None


def finding_key(finding: Finding) -> str:
    """Checks about several subjects (devices, inputs) are kept apart by subject."""
    return f"{finding.check}@{finding.subject}" if finding.subject else finding.check


class StatusBoard:
    def __init__(self) -> None:
        self.checks: dict[str, Finding] = {}
        self.reported_at: dict[str, float] = {}  # monotonic time of each check's newest report
        self.devices: dict[str, DeviceSummary] = {}
        self.tasks: dict[str, TaskState] = {}
        self.metrics: dict[str, float | int | None] = {}
        self.changed = asyncio.Event()

    def report(self, finding: Finding) -> Change | None:
        """Record a finding; returns the change when its verdict differs from the last one."""
        key = finding_key(finding)
        previous = self.checks.get(key)
        self.checks[key] = finding
        self.reported_at[key] = time.monotonic()
        if previous is None or previous.verdict != finding.verdict:
            self.changed.set()
            return Change(finding, previous.verdict if previous else None)
        return None

    def forget(self, prefix: str, subject: str | None = None) -> None:
        """Drop every check whose id starts with `prefix` (a monitor removed by a config reload), or
        only those about `subject` (a device removed from its source's list)."""
        for key in list(self.checks):
            if key.startswith(prefix) and (subject is None or key.endswith(f"@{subject}")):
                self._drop(key)
        self.changed.set()

    def drop_stale(self, keys: set[str], since: float) -> list[str]:
        """Drop those of `keys` not reported again since `since` (monotonic): checks a reload carried
        over that the new monitors never confirmed (an uplink no longer configured, say)."""
        stale = [key for key in keys if key in self.checks and self.reported_at.get(key, 0.0) < since]
        for key in stale:
            self._drop(key)
        if stale:
            self.changed.set()
        return stale

    def _drop(self, key: str) -> None:
        del self.checks[key]
        self.reported_at.pop(key, None)

    def set_task(self, name: str, state: TaskState) -> None:
        self.tasks[name] = state
        self.changed.set()

    def set_device(self, name: str, summary: DeviceSummary) -> None:
        self.devices[name] = summary

    def set_metric(self, name: str, value: float | int | None) -> None:
        self.metrics[name] = value

    @property
    def overall(self) -> Verdict:
        """The worst graded verdict (advisory checks are shown in `checks`, not graded here)."""
        return worst([finding.verdict for finding in self.checks.values() if not is_advisory(finding.check)])
