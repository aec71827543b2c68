"""What the command line itself says to a person (not findings): bilingual, keyed by stable codes.

Each message has a Chinese and an English text; the CLI prints the one `--lang` chose
(agent/cli/language.py), and with `both` one line `中文 / English`, Chinese first, as the
regulation and the findings are. Where the detail comes from a library or the OS (in English),
the Chinese says what failed and the English carries the detail. The codes never change once
published; the texts may be improved. (Findings have their own catalogs beside their probes.)
"""

from __future__ import annotations

import click

from agent.cli.language import current, pick, said, stacked
from contract.catalog import Catalog
from contract.findings import Message

CLI_MESSAGES = Catalog(
    {
        "cli.usage": ("用法错误", "usage error"),
        "cli.positive": ("{options} 必须为正数", "{options} must be positive"),
        "cli.write_failed": ("无法写入{what_zh}：{path}", "cannot write the {what} to {path}"),
        "cli.host_port": ("{text}：应为 主机 或 主机:端口", "{text}: expected HOST or HOST:PORT"),
        "cli.ports_not_numbers": (
            "{text}：端口应为以逗号分隔的数字，例如 5060,1720",
            "{text}: give ports as numbers separated by commas, e.g. 5060,1720",
        ),
        "cli.ports_range": ("{text}：端口范围为 1–65535", "{text}: ports are 1–65535"),
        "cli.env_unset": (
            "{option}：环境变量 {variable} 未设置",
            "{option}: environment variable {variable} is not set",
        ),
        "cli.v3_user": ("SNMPv3 需要 --v3-user", "SNMPv3 needs --v3-user"),
        "cli.ssh_needs": (
            "未用 -c 时须给出 --device-type 和 --username",
            "--device-type and --username are needed without -c",
        ),
        "cli.ssh_login": ("请给出 --password-env 变量名 或 --key 密钥文件", "give --password-env VAR or --key FILE"),
        "cli.bad_source": ("无法使用该信号源", "cannot use this source: {detail}"),
        "cli.no_conference": ("日程中没有会议 {conference}", "no conference {conference} in the schedule"),
        "cli.unreachable": ("无法连接消息服务器", "{detail}"),
        "cli.no_reply": ("守护进程没有应答（是否在运行？）", "{detail}"),
        "cli.daemon_refused": ("守护进程拒绝了请求：{zh}", "the daemon refused: {en}"),
        "cli.config_errors": ("配置有 {count} 处错误", "{count} error(s)"),
        "cli.secret_missing": ("缺少密钥：{detail}", "{detail}"),
        "cli.summary": ("{total} 项{noun_zh}中 {count} 项异常", "{count} of {total} {noun} not ok"),
        "cli.summary_advisory": ("{count} 项建议", "{count} advisory"),
        "cli.problems_title": ("问题（{count}）", "problems ({count})"),
        "cli.advisory_title": ("建议项（不计入结论）", "advisory, not graded"),
        "cli.ok_not_shown": (
            "另有 {count} 项正常，未列出（--problems）",
            "{count} ok row(s) not shown (--problems)",
        ),
        "cli.same_as": ("同 {name}", "as {name}"),
        "cli.findings_title": ("检查结果", "findings"),
        "cli.selftest_title": ("自检", "self-test"),
        "cli.checks_title": ("检查项", "checks"),
        "cli.status.venue_is": ("会场状态为 {state}", "the venue is {state}"),
        "cli.status.line": (
            "在线状态：{availability}   守护进程结论：{overall}   状态时间 {at}",
            "availability: {availability}   daemon's overall: {overall}   status at {at}",
        ),
        "cli.status.outbox": (
            "发件箱：待发 {pending} 条，已丢弃事件 {events} 条、指标 {metrics} 条{extra}",
            "outbox: {pending} pending, dropped {events} events / {metrics} metrics{extra}",
        ),
        "cli.status.outbox_storage_error": ("，存储错误：{error}", ", storage error: {error}"),
        "cli.status.outbox_refused": ("，{count} 条被代理拒绝", ", {count} refused by the broker"),
        "cli.status.selftest_unreadable": (
            "最近一次自检：无法读取（见上）",
            "last self-test: cannot be read (see above)",
        ),
        "cli.status.selftest_none": ("最近一次自检：尚无", "last self-test: none yet"),
        "cli.status.selftest": (
            "最近一次自检（{trigger}，{conference}）：{verdict}，{at}",
            "last self-test ({trigger}, {conference}): {verdict} at {at}",
        ),
        "cli.status.selftest_failed": (
            "最近一次自检（{trigger}，{conference}）：{verdict}，{at}——未通过：{items}",
            "last self-test ({trigger}, {conference}): {verdict} at {at} — failed: {items}",
        ),
        "cli.status.no_conference": ("无会议", "no conference"),
        "cli.status.in_conference": (
            "会议进行中：{name}（{id}），自 {since}",
            "in conference: {name} ({id}) since {since}",
        ),
        "cli.status.next_conference": ("下次会议：{name}，{at}", "next conference: {name} at {at}"),
        "cli.status.last_summary": (
            "最近一次会议小结（第二十条）：{title} 用时 {actual} 分钟（允许 {allowed}），第十七条合格时间 ≥ {ok_pct}%，"
            "事件 {incidents} 起，掉线 {drops} 次",
            "last summary (Art. 20): {title} ran {actual} min (allowed {allowed}), Art. 17 ok ≥ {ok_pct} % of the "
            "time, {incidents} incident(s), {drops} call drop(s)",
        ),
        "cli.column.check": ("检查项", "check"),
        "cli.column.item": ("自检项", "item"),
        "cli.column.verdict": ("结论", "verdict"),
        "cli.column.value_limit": ("测量值 / 阈值", "value / limit"),
        "cli.column.value": ("测量值", "value"),
        "cli.column.message": ("说明", "message"),
        "cli.column.reason": ("原因", "reason"),
        "cli.no_conferences": ("暂无会议安排", "no conferences ahead"),
        "cli.schedule_unreadable": (
            "无法读取守护进程保存的下发日程 {path}（{detail}）：以下不含上级下发的会议；"
            "请以服务用户查看（sudo -u venue-agent venue-agent schedule …）",
            "cannot read the daemon's pushed schedule {path} ({detail}): the hub's conferences are not shown; "
            "run as the service user (sudo -u venue-agent venue-agent schedule …)",
        ),
        "cli.schedule_stored_bad": (
            "守护进程保存的下发日程 {path} 无法使用（{detail}）：守护进程启动时会将其移开",
            "the daemon's pushed schedule {path} cannot be used ({detail}): the daemon sets it aside when it starts",
        ),
        "cli.schedule_ics_problem": ("会议日历：{detail}", "calendar: {detail}"),
        "cli.pushed_by": ("由 {office} 下发", "pushed by {office}"),
        "cli.from_config": ("来自配置文件", "from the config"),
        "cli.from_ics": ("来自会议日历", "from the .ics file"),
        "cli.longer_than_art3": ("超过第三条允许的时长", "longer than Art. 3 allows"),
        "cli.daemon_running": (
            "本机守护进程正在运行（pid {pid}）并占用信号源：改为通过消息服务器请它自检"
            "（--via-broker；--local 强制本地）",
            "the daemon runs on this host (pid {pid}) and holds the sources: asking it through the broker "
            "(--via-broker; --local to open them here anyway)",
        ),
        "cli.no_device": (
            "配置文件中没有名为 {name} 的 {table} 设备（已配置：{known}）",
            "no {table} device named {name} in the config (configured: {known})",
        ),
        "cli.which_device": (
            "配置文件有多个 {table} 设备，请指明：{known}",
            "the config has several {table} devices, name one: {known}",
        ),
        "cli.no_configured": ("配置文件中没有 [{table}]", "the config has no [{table}]"),
        "cli.target_or_config": ("请给出目标，或 -c 配置文件", "give a target, or -c CONFIG"),
        "cli.no_far_end": (
            "配置文件未指明远端（[selftest] far_end 或会议的 far_end）",
            "the config names no far end ([selftest] far_end or a conference's far_end)",
        ),
    }
)


def text(code: str, **fields: object) -> Message:
    """The message in both languages (for --json, which keeps both and `both`'s one line).

    A field that is itself bilingual (a source error's `message`) gives each language its own
    text; an English-only detail the Chinese template leaves out (a library's or the OS's words,
    said once in `both`) is added to the Chinese when Chinese is all that is printed."""
    zh, en = CLI_MESSAGES.template(code)
    zh_fields = {k: getattr(v, "zh", v) for k, v in fields.items()}
    en_fields = {k: getattr(v, "en", v) for k, v in fields.items()}
    chinese = zh.format(**zh_fields)
    if hasattr(fields.get("detail"), "zh") and "{detail}" not in zh:
        chinese += f"：{zh_fields['detail']}"
    return Message(zh=chinese, en=en.format(**en_fields))


def say(code: str, **fields: object) -> str:
    """One line in the chosen language (`both`: `中文 / English`)."""
    message = text(code, **fields)
    zh, _ = CLI_MESSAGES.template(code)
    detail = fields.get("detail")
    if current() == "zh" and "detail" in fields and "{detail}" not in zh and not hasattr(detail, "zh"):
        return f"{message.zh}：{detail}"
    return said(message)


def say_lines(code: str, **fields: object) -> str:
    """A sentence in the chosen language; `both` puts the Chinese line above the English one (two
    short lines read better than one `中文 / English` line that wraps in the middle)."""
    message = text(code, **fields)
    return stacked(message.zh, message.en)


def say_text(zh: str, en: str) -> str:
    """A text that is not a catalog entry (a payload's own message), in the chosen language."""
    return pick(zh, en)


def usage_error(code: str, **fields: object) -> click.UsageError:
    """A usage error (exit 3, one line: agent/cli/usage.py) in both languages."""
    return click.UsageError(say(code, **fields))


def bad_parameter(code: str, param_hint: str | None = None, **fields: object) -> click.BadParameter:
    return click.BadParameter(say(code, **fields), param_hint=param_hint)


def columns(*codes: str) -> tuple[str, ...]:
    """Table headings in the language in force (`cli.column.<code>`), read when a table is drawn."""
    return tuple(say(f"cli.column.{code}") for code in codes)
