"""Judges the clock offset: a venue whose clock is off runs its Art. 14 self-tests at the wrong time."""

from __future__ import annotations

from collectors.net.clock import ClockReading
from contract.catalog import Catalog
from contract.findings import Article, Finding, Verdict
from probes.hysteresis import Band

CLOCK_MESSAGES = Catalog(
    {
        "clock.offset.ok": (
            "本机时钟与 {server} 相差 {offset:+.0f} ms，正常",
            "clock within {offset:+.0f} ms of {server}",
        ),
        "clock.offset.off": (
            "本机时钟与 {server} 相差 {offset:+.0f} ms（限值 {threshold:.0f} ms），会前测试时间可能不准",
            "clock is {offset:+.0f} ms off {server} (limit {threshold:.0f} ms); checkpoints may run at the wrong time",
        ),
        "clock.offset.unknown": (
            "无法核对时钟：{detail}",
            "cannot check the clock: {detail}",
        ),
    }
)


def judge_clock(reading: ClockReading, warn_ms: float, fail_ms: float) -> Finding:
    if reading.offset_ms is None:
        detail = reading.error or "no answer"
        return CLOCK_MESSAGES.finding(
            "clock.offset",
            Verdict.UNKNOWN,
            "clock.offset.unknown",
            Article.ART14,
            subject=reading.server,
            detail=detail,
        )
    size = abs(reading.offset_ms)
    verdict = Band(warn_ms, fail_ms, low=False).raw(size)
    code = "clock.offset.ok" if verdict is Verdict.OK else "clock.offset.off"
    threshold = fail_ms if verdict is Verdict.FAIL else warn_ms
    return CLOCK_MESSAGES.finding(
        "clock.offset",
        verdict,
        code,
        Article.ART14,
        round(reading.offset_ms, 1),
        threshold,
        "ms",
        reading.server,
        server=reading.server,
        offset=reading.offset_ms,
    )
