"""Bilingual texts of the review's and the evaluation's findings, keyed by stable codes, and the
headings of their tables and spreadsheets (Chinese first: `会场 / Venue`)."""

from __future__ import annotations

from contract.findings import Message

REPORT_TEXTS: dict[str, tuple[str, str]] = {
    "review.no_summary": (
        "无会后小结：会议已结束，该会场未上报本次会议记录（未入会）",
        "no summary: the conference is over and the venue recorded none (never joined)",
    ),
    "review.summary_pending": (
        "会后小结尚未收到（会议未结束或刚结束）",
        "summary not received yet (the conference is not over, or only just)",
    ),
    "review.summary_critical": (
        "会后小结为严重：图像或声音有一项不合格时间达 {fail_pct}%",
        "summary is critical: an Art. 17 check failed for {fail_pct} % of the time",
    ),
    "review.summary_warning": (
        "会后小结为警告（图像声音、时长或掉线有问题）",
        "summary is a warning (Art. 17 quality, Art. 3 duration or a call drop)",
    ),
    "review.over_limit": (
        "会议时长 {actual} 分钟，超过第三条上限 {allowed} 分钟",
        "ran {actual} min, over the Art. 3 limit of {allowed} min",
    ),
    "review.call_drops": ("会议中掉线 {drops} 次", "{drops} call drop(s) during the conference"),
    "review.lost_during": (
        "会议期间离线或失联 {count} 次",
        "went offline or silent {count} time(s) during the conference",
    ),
    "review.alerts": (
        "会议期间告警 {count} 条（严重 {critical} 条）",
        "{count} alert(s) during the conference ({critical} critical)",
    ),
    "review.rollcall_silent": ("点名未应答", "did not answer the roll call"),
    "review.rollcall_fail": ("点名自检未通过：{items}", "roll-call self-test failed: {items}"),
    "review.rollcall_warn": ("点名自检有警告", "roll-call self-test warned"),
    "review.not_scheduled": (
        "本次会议未向该会场下发日程（仅有会后小结）",
        "the schedule was not pushed to this venue (only its summary is known)",
    ),
    "evaluation.serious": ("严重问题：{label}（{value}）", "serious problem: {label} ({value})"),
    "evaluation.county_serious": (
        "所属县（市、区）分会场 {venue} 出现严重问题，取消本年度评优资格（第二十二条）",
        "county venue {venue} had a serious problem: no award this year (Art. 22)",
    ),
}

HEADINGS: dict[str, tuple[str, str]] = {
    "venue": ("会场", "Venue"),
    "name": ("名称", "Name"),
    "level": ("级别", "Level"),
    "verdict": ("结论", "Verdict"),
    "reasons": ("说明", "Reasons"),
    "scheduled": ("已下发日程", "Scheduled"),
    "joined": ("入会", "Joined"),
    "actual_min": ("实际时长（分）", "Actual (min)"),
    "planned_min": ("计划时长（分）", "Planned (min)"),
    "allowed_min": ("上限（分）", "Allowed (min)"),
    "over_limit": ("超时", "Over limit"),
    "art17_min_ok_pct": ("图像声音最低合格率 %", "Art. 17 lowest ok %"),
    "device_incidents": ("设备故障", "Device incidents"),
    "call_drops": ("掉线", "Call drops"),
    "alerts": ("会中告警", "Alerts"),
    "lost": ("会中离线", "Lost during"),
    "rollcall": ("点名", "Roll call"),
    "rollcall_answered": ("点名应答", "Answered"),
    "rollcall_verdict": ("点名结果", "Roll-call verdict"),
    "rollcall_failed_items": ("点名失败项", "Failed items"),
    "rollcall_seconds": ("应答秒数", "Reply (s)"),
    "liaison": ("会务联络员", "Liaison"),
    "liaison_phone": ("联络员电话", "Liaison phone"),
    "technical_head": ("技术保障负责人", "Technical head"),
    "technical_head_phone": ("技术负责人电话", "Technical phone"),
    "conference": ("会议", "Conference"),
    "start": ("开始时间", "Start"),
    "at": ("时间", "Time"),
    "code": ("代码", "Code"),
    "severity": ("级别", "Severity"),
    "message": ("内容", "Message"),
    "state": ("状态", "State"),
    "score": ("得分", "Score"),
    "grade": ("等级", "Grade"),
    "serious": ("严重问题", "Serious problems"),
    "award": ("评优资格", "Award eligible"),
    "deductions": ("扣分明细", "Deductions"),
    "metric": ("指标", "Metric"),
    "value": ("数值", "Value"),
    "points": ("扣分", "Points"),
    "rule": ("规则", "Rule"),
}

VERDICT_NAMES: dict[str, tuple[str, str]] = {
    "ok": ("正常", "ok"),
    "warn": ("警告", "warn"),
    "fail": ("不合格", "fail"),
    "unknown": ("未知", "unknown"),
}


def render(code: str, **fields: object) -> Message:
    zh, en = REPORT_TEXTS[code]
    return Message(zh=zh.format(**fields), en=en.format(**fields))


def heading(name: str) -> str:
    """`中文 / English` for a column name."""
    zh, en = HEADINGS[name]
    return f"{zh} / {en}"


def heading_lines(name: str) -> str:
    """Chinese over English, for narrow terminal tables."""
    zh, en = HEADINGS[name]
    return f"{zh}\n{en}"


def verdict_name(verdict: str) -> str:
    zh, en = VERDICT_NAMES.get(verdict, (verdict, verdict))
    return f"{zh} / {en}"
