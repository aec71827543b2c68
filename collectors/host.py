"""Readings of the venue PC itself: free space where the outbox lives, load, the agent's memory."""

from __future__ import annotations

import os
import resource
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DiskReading:
    path: str
    free_mb: float
    total_mb: float


@dataclass(frozen=True)
class HostReading:
    disk: DiskReading
    load_1m: float
    agent_rss_mb: float


def read_disk(path: Path) -> DiskReading:
    """Free and total space of the file system holding `path` (raises OSError if unreadable)."""
    usage = shutil.disk_usage(path)
    return DiskReading(str(path), usage.free / 2**20, usage.total / 2**20)


def read_host(state_dir: Path) -> HostReading:
    peak_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return HostReading(read_disk(state_dir), os.getloadavg()[0], peak_rss_kb / 1024)
