"""Judges the venue PC: enough free space that the outbox can keep every event (Art. 13)."""

from __future__ import annotations

from collectors.host import DiskReading
from contract.catalog import Catalog
from contract.findings import Article, Finding, Verdict
from probes.grading import graded

HOST_MESSAGES = Catalog(
    {
        "host.disk.ok": ("{path} 剩余空间 {free:.0f} MB，充足", "{path} has {free:.0f} MB free"),
        "host.disk.low": (
            "{path} 剩余空间仅 {free:.0f} MB（低于 {threshold:.0f} MB），发件队列可能无法保存",
            "only {free:.0f} MB free on {path} (below {threshold:.0f} MB); the outbox may run out of space",
        ),
        "host.disk.unreadable": (
            "无法读取 {path} 的磁盘空间：{error}",
            "cannot read free space of {path}: {error}",
        ),
    }
)


def judge_disk(reading: DiskReading, warn_mb: float, fail_mb: float) -> Finding:
    """fail at or below `fail_mb`, warn at or below `warn_mb`, else ok (probes/grading.py)."""
    verdict = graded(reading.free_mb, warn_mb, fail_mb, low=True)
    code = "host.disk.ok" if verdict is Verdict.OK else "host.disk.low"
    threshold = fail_mb if verdict is Verdict.FAIL else warn_mb
    return HOST_MESSAGES.finding(
        "host.disk",
        verdict,
        code,
        Article.ART13,
        round(reading.free_mb, 1),
        threshold,
        "MB",
        path=reading.path,
        free=reading.free_mb,
    )


def disk_unreadable(path: str, error: str) -> Finding:
    return HOST_MESSAGES.finding(
        "host.disk", Verdict.UNKNOWN, "host.disk.unreadable", Article.ART13, path=path, error=error
    )
