"""Monitors: one supervised loop each, wiring a collector to its probe and reporting to the agent.

Each monitor module exposes `build(settings) -> list[Monitor]`; agent/sources.py names them, and the
agent starts what they return.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from agent.devices.summary import DeviceSummary
from contract.findings import Finding

if TYPE_CHECKING:  # numpy is the video monitor's: a daemon watching only SNMP/SSH never loads it
    import numpy as np


class Reporter(Protocol):
    """What a monitor may do with the agent: report findings, device summaries and numbers, announce news."""

    def report(self, finding: Finding) -> None: ...

    def set_metric(self, name: str, value: float | int | None) -> None: ...

    def set_device(self, name: str, summary: DeviceSummary) -> None: ...

    def keep_frame(self, frame: np.ndarray) -> None:
        """Any thread: the uplink frame just analysed, for snapshots."""
        ...

    def announce(self, finding: Finding) -> None:
        """News that is no state (a device's trap): one event now, nothing kept in the status."""
        ...


@dataclass(frozen=True)
class Monitor:
    """A named loop; `run(reporter)` runs until cancelled (raising restarts it with backoff)."""

    name: str
    run: Callable[[Reporter], Awaitable[None]]
