"""From findings to a self-test report: pass/warn/fail/unknown per item, the article, the reason."""

from __future__ import annotations

import uuid
from datetime import datetime

from agent.reporting.board import finding_key
from contract.catalog import Catalog
from contract.findings import Finding, Verdict, is_advisory, worst
from contract.payloads import SelftestItem, SelftestReport, VenueRef

SELFTEST_MESSAGES = Catalog(
    {
        "selftest.timeout": (
            "自检项 {group} 未在 {budget:.0f} 秒内完成",
            "self-test group {group} did not finish within {budget:.0f} s",
        ),
        "selftest.framing_pending": (
            "视频监测尚未完成取景分析（每 {interval:.0f} 秒一次），本次未判断第十五条取景",
            "the video monitor has no framing analysis yet (every {interval:.0f} s); "
            "Art. 15 framing not judged this time",
        ),
        "selftest.monitor_silent": (
            "监测任务 {waited:.0f} 秒内没有给出结论（正在重启？），本项未判断",
            "the monitor gave no verdict within {waited:.0f} s (restarting?); not judged this time",
        ),
        "selftest.error": (
            "自检项 {group} 出错：{error}",
            "self-test group {group} failed to run: {error}",
        ),
    }
)
ITEM_VERDICT = {Verdict.OK: "pass", Verdict.WARN: "warn", Verdict.FAIL: "fail", Verdict.UNKNOWN: "unknown"}
FINDING_VERDICT = {word: verdict for verdict, word in ITEM_VERDICT.items()}


def item_from(finding: Finding) -> SelftestItem:
    return SelftestItem(
        check=finding_key(finding),
        verdict=ITEM_VERDICT[finding.verdict],
        article=finding.article,
        reason=finding.message,
        value=finding.value,
    )


def overall(items: list[SelftestItem]) -> str:
    """Worst verdict of the graded items (advisory ones inform, they do not grade); a run with no
    graded item is `unknown` (nothing was shown to work)."""
    graded = [item for item in items if not is_advisory(item.check)]
    if not graded:
        return "unknown"
    return ITEM_VERDICT[worst([FINDING_VERDICT[item.verdict] for item in graded])]


def build_report(
    venue: VenueRef,
    trigger: str,
    conference_id: str | None,
    findings: list[Finding],
    started: datetime,
    duration_s: float,
) -> SelftestReport:
    items = [item_from(finding) for finding in findings]
    return SelftestReport(
        id=str(uuid.uuid4()),
        ts=started,
        venue=venue,
        trigger=trigger,
        conference_id=conference_id,
        verdict=overall(items),
        items=items,
        duration_s=round(duration_s, 2),
    )


def summary(report: SelftestReport) -> dict:
    """What the status shows of the last run."""
    return {
        "id": report.id,
        "ts": report.ts.isoformat(),
        "trigger": report.trigger,
        "conference_id": report.conference_id,
        "verdict": report.verdict,
        "duration_s": report.duration_s,
        "failed": [item.check for item in report.items if item.verdict == "fail"],
        "warned": [item.check for item in report.items if item.verdict == "warn"],
    }
