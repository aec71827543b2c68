"""Bilingual texts of the hub's incident notices and sink reports, keyed by stable codes.

Codes never change once published (an office's own tooling may match on them); the texts may be
improved. Kept as a plain mapping of code → (Chinese, English) templates: the hub does not import the
agent's or the probes' catalog, and docs/codes.md can list these with the same generator.
"""

from __future__ import annotations

from contract.findings import Message

INCIDENT_TEXTS: dict[str, tuple[str, str]] = {
    "incident.event_in_conference": (
        "会议期间告警：{venue_name}　{detail_zh}",
        "alert during a conference: {venue_name} — {detail_en}",
    ),
    "incident.offline_before_conference": (
        "会前掉线：{venue_name} 在会议「{title}」开始前 {minutes} 分钟离线",
        "offline before a conference: {venue_name} went offline {minutes} min before “{title}” starts",
    ),
    "incident.silent_before_conference": (
        "会前失联：{venue_name} 在会议「{title}」开始前 {minutes} 分钟无任何上报",
        "silent before a conference: {venue_name} stopped reporting {minutes} min before “{title}” starts",
    ),
    "incident.offline_during_conference": (
        "会议进行中掉线：{venue_name} 在会议「{title}」进行中离线",
        "offline during a conference: {venue_name} went offline while “{title}” is running",
    ),
    "incident.silent_during_conference": (
        "会议进行中失联：{venue_name} 在会议「{title}」进行中无任何上报",
        "silent during a conference: {venue_name} stopped reporting while “{title}” is running",
    ),
    "incident.not_ready_before_conference": (
        "会前未就绪：距会议「{title}」开始还有 {minutes} 分钟，{venue_name} 当前{state_zh}",
        "not ready for a conference: {venue_name} is {state_en} with {minutes} min to go before “{title}”",
    ),
    "sink.attempt_failed": (
        "通知渠道 {sink} 第 {attempt} 次发送失败（{reason}），{delay:.1f} 秒后重试",
        "sink {sink}: attempt {attempt} failed ({reason}), retrying in {delay:.1f} s",
    ),
    "sink.given_up": (
        "通知渠道 {sink} 已放弃事件 {incident}：{attempts} 次均失败（{reason}）",
        "sink {sink} gave up incident {incident} after {attempts} failed attempts ({reason})",
    ),
    "sink.unconfigured": (
        "通知渠道 {sink} 无法使用：{reason}",
        "sink {sink} cannot be used: {reason}",
    ),
    "desk.queue_full": (
        "事件通知队列已满，丢弃来自 {venue} 的一条通知（累计 {dropped} 条）",
        "incident queue full: a notice from {venue} was dropped ({dropped} so far)",
    ),
}

# Labels of a notice's fields, Chinese first (as every heading people read in this project).
LABELS: dict[str, tuple[str, str]] = {
    "severity": ("级别", "Severity"),
    "venue": ("会场", "Venue"),
    "conference": ("会议", "Conference"),
    "starts": ("开始", "Starts"),
    "at": ("时间", "Time"),
    "detail": ("内容", "Detail"),
    "liaison": ("会务联络员", "Liaison"),
    "technical_head": ("技术保障负责人", "Technical head"),
    "none": ("未登记", "not on file"),
}

STATE_NAMES: dict[str, tuple[str, str]] = {
    "offline": ("离线", "offline"),
    "silent": ("无任何上报（失联）", "silent"),
    "never": ("从未上报（未接入）", "never heard from"),
}

SEVERITY_NAMES: dict[str, tuple[str, str]] = {
    "info": ("提示", "INFO"),
    "warning": ("警告", "WARNING"),
    "critical": ("严重", "CRITICAL"),
}


def render(code: str, **fields: object) -> Message:
    """The message for `code` with its fields filled in; an unknown code is a programming error (KeyError)."""
    zh, en = INCIDENT_TEXTS[code]
    return Message(zh=zh.format(**fields), en=en.format(**fields))


def label(name: str) -> str:
    """A field label as `中文 / English`."""
    zh, en = LABELS[name]
    return f"{zh} / {en}"
