"""What the command line itself says to a person (not findings): bilingual, keyed by stable codes.

Chinese first, as the regulation and the findings are; one line `中文 / English`, so that a
technician and a script matching on the English both read it. Where the detail comes from a
library or the OS (in English), the Chinese says what failed and the English carries the detail,
so that nothing is said twice. The codes never change once
published; the texts may be improved. (Findings have their own catalogs beside their probes.)
"""

from __future__ import annotations

import click

from contract.catalog import Catalog

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
        "cli.ssh_login": ("请给出 --password-env 变量名 或 --key 密钥文件", "give --password-env VAR or --key FILE"),
        "cli.bad_source": ("无法使用该信号源", "cannot use this source: {detail}"),
        "cli.no_conference": ("日程中没有会议 {conference}", "no conference {conference} in the schedule"),
        "cli.unreachable": ("无法连接消息服务器", "{detail}"),
        "cli.no_reply": ("守护进程没有应答（是否在运行？）", "{detail}"),
        "cli.daemon_refused": ("守护进程拒绝了请求：{zh}", "the daemon refused: {en}"),
    }
)


def say(code: str, **fields: object) -> str:
    """One line, Chinese first: `中文 / English`."""
    message = CLI_MESSAGES.render(code, **fields)
    return f"{message.zh} / {message.en}"


def usage_error(code: str, **fields: object) -> click.UsageError:
    """A usage error (exit 3, one line: agent/cli/usage.py) in both languages."""
    return click.UsageError(say(code, **fields))


def bad_parameter(code: str, param_hint: str | None = None, **fields: object) -> click.BadParameter:
    return click.BadParameter(say(code, **fields), param_hint=param_hint)
