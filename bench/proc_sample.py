"""One process's resident memory, open file descriptors and threads, read from /proc, and the
least-squares slope of a series — the soak benchmark's measuring tape.

Read from /proc/PID rather than psutil so the figures are exactly what the kernel reports
(VmRSS, the entries of fd/, Threads) and nothing is cached between samples.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    t_s: float  # seconds since the soak started
    rss_mb: float
    fds: int
    threads: int


def sample(pid: int, t_s: float) -> Sample:
    """The process's figures now; raises ProcessLookupError when it has gone."""
    proc = Path(f"/proc/{pid}")
    try:
        status = (proc / "status").read_text()
        fds = len(os.listdir(proc / "fd"))
    except FileNotFoundError:
        raise ProcessLookupError(pid) from None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    rss_kb = int(fields["VmRSS"].split()[0])
    return Sample(t_s=t_s, rss_mb=rss_kb / 1024, fds=fds, threads=int(fields["Threads"]))


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope dy/dx of (x, y) points; None for fewer than two distinct x."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
