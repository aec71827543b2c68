"""What a device's SNMP trap says about the venue (Art. 13: keep the network and equipment fault-free).

A trap is news, not a state: it becomes one event at once, and the device's next poll (which the
trap triggers) confirms or corrects the state the status shows. The verdict here sets the event's
severity: a port going down is a failure on the configured uplink and a warning elsewhere, an
environment alarm fails at `critical`/`shutdown`, a restart or a refused login is a warning.
"""

from __future__ import annotations

from collectors.snmp.traps import TrapRecord
from contract.catalog import Catalog
from contract.findings import Article, Finding, Verdict

TRAP_MESSAGES = Catalog(
    {
        "snmp.trap.link_down": (
            "{device} 报告端口 {interface} 断开（SNMP 告警）",
            "{device} reports port {interface} down (SNMP trap)",
        ),
        "snmp.trap.link_up": (
            "{device} 报告端口 {interface} 恢复（SNMP 告警）",
            "{device} reports port {interface} up (SNMP trap)",
        ),
        "snmp.trap.restart": ("{device} 已重启（{name}）", "{device} restarted ({name})"),
        "snmp.trap.auth_failure": (
            "{device} 报告 SNMP 认证失败：有人用错误的凭据访问",
            "{device} reports an SNMP authentication failure: someone used wrong credentials",
        ),
        "snmp.trap.environment": ("{device} 环境告警：{name} {detail}", "{device} environment alarm: {name} {detail}"),
        "snmp.trap.environment_clear": (
            "{device} 告警已恢复：{name} {detail}",
            "{device} alarm cleared: {name} {detail}",
        ),
        "snmp.trap.unknown": ("{device} 发来未知告警 {name}", "{device} sent an unknown trap {name}"),
        "snmp.traps.listening": ("正在 {address} 接收 SNMP 告警", "receiving SNMP traps on {address}"),
        "snmp.traps.bind_failed": (
            "无法在 {address} 接收 SNMP 告警：{error}",
            "cannot receive SNMP traps on {address}: {error}",
        ),
    }
)
FAILING_ENVIRONMENT = {"critical", "shutdown"}
FAILING_SEVERITIES = {"emergency", "alert", "critical"}  # syslog-style severities a notification carries (Poly)


def interface_of(record: TrapRecord) -> str:
    """The port a link trap names: ifName, else ifDescr, else its ifIndex."""
    for key in ("ifName", "ifDescr"):
        if isinstance(record.fields.get(key), str) and record.fields[key]:
            return str(record.fields[key])
    index = record.fields.get("ifIndex")
    return f"ifIndex {index}" if index is not None else "?"


def judge_trap(device: str, record: TrapRecord, uplink: str | None) -> Finding:
    """The event a trap from `device` (its configured name) raises."""
    event = record.event
    if event in ("link_down", "link_up"):
        interface = interface_of(record)
        index = record.fields.get("ifIndex")
        on_uplink = uplink is not None and uplink in (interface, str(index), record.fields.get("ifDescr"))
        verdict = Verdict.OK if event == "link_up" else Verdict.FAIL if on_uplink else Verdict.WARN
        return _finding(verdict, f"snmp.trap.{event}", device, record, interface=interface)
    if event == "environment":
        state = str(record.fields.get("state") or "")
        severity = str(record.fields.get("severity") or "")
        shown = ("descr", "value", "state", "reason", "severity")
        detail = " ".join(str(record.fields[key]) for key in shown if record.fields.get(key))
        if state in FAILING_ENVIRONMENT or severity in FAILING_SEVERITIES or record.verdict == "fail":
            verdict = Verdict.FAIL
        else:
            verdict = Verdict.OK if record.verdict == "ok" else Verdict.WARN
        code = "snmp.trap.environment_clear" if verdict is Verdict.OK else "snmp.trap.environment"
        return _finding(verdict, code, device, record, detail=detail or "—")
    if event in ("restart", "auth_failure"):
        return _finding(Verdict.WARN, f"snmp.trap.{event}", device, record)
    return _finding(Verdict.WARN, "snmp.trap.unknown", device, record)


def _finding(verdict: Verdict, code: str, device: str, record: TrapRecord, **fields: object) -> Finding:
    return TRAP_MESSAGES.finding(
        "snmp.trap",
        verdict,
        code,
        Article.ART13,
        record.name,
        None,
        None,
        device,
        device=device,
        name=record.name,
        **fields,
    )


def listening(address: str) -> Finding:
    return TRAP_MESSAGES.finding("snmp.traps", Verdict.OK, "snmp.traps.listening", Article.ART13, address=address)


def bind_failed(address: str, error: str) -> Finding:
    return TRAP_MESSAGES.finding(
        "snmp.traps", Verdict.FAIL, "snmp.traps.bind_failed", Article.ART13, address=address, error=error
    )
