"""Judges an SNMP reading of a codec or network device (Art. 13: keep the network and equipment
free of faults). Pure functions: a DeviceReading and thresholds in, Findings out."""

from __future__ import annotations

from collectors.snmp.reading import DeviceReading, EntityValue, Interface
from contract.catalog import Catalog
from contract.findings import Article, Finding, Verdict, worst
from probes.device_thresholds import DeviceThresholds
from probes.grading import graded
from probes.uplink import uplink_state

SNMP_MESSAGES = Catalog(
    {
        "snmp.reachable.ok": ("设备 {device} 响应正常（{profile}）", "{device} answers SNMP ({profile})"),
        "snmp.reachable.timeout": (
            "设备 {device} 无 SNMP 响应（{detail}）：检查设备电源、网络与团体名/用户",
            "{device} does not answer SNMP ({detail}): check power, network and community/user",
        ),
        "snmp.reachable.auth": (
            "设备 {device} 拒绝认证（{detail}）：检查 SNMPv3 用户名、认证/加密协议与密钥",
            "{device} refused authentication ({detail}): check the SNMPv3 user, protocols and keys",
        ),
        "snmp.reachable.error": (
            "设备 {device} 返回 SNMP 错误：{detail}",
            "{device} answered with an SNMP error: {detail}",
        ),
        "snmp.reachable.config": (
            "设备 {device} 配置有误，未轮询：{detail}",
            "{device} is misconfigured, not polled: {detail}",
        ),
        "snmp.registration.ok": ("{device} 已注册：{detail}", "{device} is registered: {detail}"),
        "snmp.registration.failed": (
            "{device} 注册失败：{detail}，无法入会",
            "{device} registration failed: {detail}; it cannot join conferences",
        ),
        "snmp.registration.unknown": (
            "{device} 注册状态未知：{detail}",
            "{device} registration state unknown: {detail}",
        ),
        "snmp.peripherals.ok": ("{device} 外设正常（{count} 个）", "{device}: all {count} peripherals ok"),
        "snmp.peripherals.failed": ("{device} 外设故障：{detail}", "{device}: peripheral fault: {detail}"),
        "snmp.peripherals.warning": ("{device} 外设告警：{detail}", "{device}: peripheral warning: {detail}"),
        "snmp.uplink.ok": (
            "{device} 上联口 {interface} 正常（{speed}）",
            "{device} uplink {interface} is up ({speed})",
        ),
        "snmp.uplink.down": (
            "{device} 上联口 {interface} 中断（管理 {admin}，运行 {oper}）",
            "{device} uplink {interface} is down (admin {admin}, oper {oper})",
        ),
        "snmp.uplink.missing": (
            "{device} 上没有配置的上联口 {interface}",
            "{device} has no interface {interface} (configured as uplink)",
        ),
        "snmp.if_errors.ok": ("{device} 接口无新增错误", "{device}: no interface errors rising"),
        "snmp.if_errors.rising": (
            "{device} 接口错误/丢包在增加：{detail}",
            "{device}: interface errors/discards rising: {detail}",
        ),
        "snmp.cpu.ok": ("{device} CPU 最高 {value:.0f}%（{entity}）", "{device} CPU at most {value:.0f}% ({entity})"),
        "snmp.cpu.high": (
            "{device} CPU 过高：{entity} {value:.0f}%（阈值 {threshold:.0f}%）",
            "{device} CPU high: {entity} {value:.0f}% (threshold {threshold:.0f}%)",
        ),
        "snmp.memory.ok": (
            "{device} 内存最高 {value:.0f}%（{entity}）",
            "{device} memory at most {value:.0f}% ({entity})",
        ),
        "snmp.memory.high": (
            "{device} 内存占用过高：{entity} {value:.0f}%（阈值 {threshold:.0f}%）",
            "{device} memory high: {entity} {value:.0f}% (threshold {threshold:.0f}%)",
        ),
        "snmp.temperature.ok": (
            "{device} 温度最高 {value:.0f}°C（{entity}）",
            "{device} temperature at most {value:.0f} °C ({entity})",
        ),
        "snmp.temperature.high": (
            "{device} 温度过高：{entity} {value:.0f}°C（阈值 {threshold:.0f}°C）",
            "{device} temperature high: {entity} {value:.0f} °C (threshold {threshold:.0f} °C)",
        ),
        "snmp.call_quality.ok": (
            "{device} 通话质量正常：丢包 {loss:.1f}%，抖动 {jitter:.0f} ms（对端 {far}）",
            "{device} call quality ok: loss {loss:.1f} %, jitter {jitter:.0f} ms (far end {far})",
        ),
        "snmp.call_quality.degraded": (
            "{device} 通话质量下降：丢包 {loss:.1f}%，抖动 {jitter:.0f} ms（对端 {far}）",
            "{device} call quality degraded: loss {loss:.1f} %, jitter {jitter:.0f} ms (far end {far})",
        ),
    }
)


def _finding(
    check: str, verdict: Verdict, code: str, device: str, value=None, threshold=None, unit=None, **fields: object
) -> Finding:
    return SNMP_MESSAGES.finding(
        check, verdict, code, Article.ART13, value, threshold, unit, device, device=device, **fields
    )


def _graded(value: float, warn: float, fail: float) -> tuple[Verdict, float]:
    """The verdict (probes/grading.py) and the threshold it is quoted against."""
    verdict = graded(value, warn, fail)
    return verdict, fail if verdict is Verdict.FAIL else warn


def judge_reachability(device: str, reading: DeviceReading) -> Finding:
    if reading.reachable and reading.error is None:
        return _finding("snmp.reachable", Verdict.OK, "snmp.reachable.ok", device, True, profile=reading.profile)
    code = {
        "error-status": "snmp.reachable.error",
        "auth": "snmp.reachable.auth",
        "config": "snmp.reachable.config",
    }.get(reading.error_kind or "", "snmp.reachable.timeout")
    return _finding("snmp.reachable", Verdict.FAIL, code, device, False, detail=reading.error or reading.error_kind)


def _health(
    device: str, reading: DeviceReading, key: str, check: str, warn: float, fail: float, unit: str
) -> Finding | None:
    """The worst entity of one health metric against its thresholds; None when the device has none."""
    values: list[EntityValue] = reading.health.get(key, [])
    if not values:
        return None
    top = max(values, key=lambda item: item.value)
    verdict, threshold = _graded(top.value, warn, fail)
    code = f"{check}.ok" if verdict is Verdict.OK else f"{check}.high"
    return _finding(check, verdict, code, device, top.value, threshold, unit, entity=top.entity)


def judge_uplink(device: str, interfaces: list[Interface], uplink: str) -> Finding:
    state = uplink_state(interfaces, uplink, lambda i: (i.name, str(i.index), i.alias))
    interface = state.port
    if interface is None:
        return _finding("snmp.uplink", state.verdict, "snmp.uplink.missing", device, None, interface=uplink)
    if state.outcome == "ok":
        speed = f"{interface.speed_mbps:.0f} Mbit/s" if interface.speed_mbps else "speed unknown"
        return _finding(
            "snmp.uplink", state.verdict, "snmp.uplink.ok", device, "up", interface=interface.name, speed=speed
        )
    return _finding(
        "snmp.uplink",
        state.verdict,
        "snmp.uplink.down",
        device,
        interface.oper_status,
        interface=interface.name,
        admin=interface.admin_status,
        oper=interface.oper_status,
    )


def judge_interface_errors(device: str, interfaces: list[Interface], warn_per_min: float) -> Finding:
    rising = [
        (i.name, (i.errors_per_min or 0) + (i.discards_per_min or 0))
        for i in interfaces
        if i.oper_status == "up" and (i.errors_per_min or 0) + (i.discards_per_min or 0) >= max(warn_per_min, 1e-9)
    ]
    if not rising:
        return _finding("snmp.if_errors", Verdict.OK, "snmp.if_errors.ok", device, 0, warn_per_min, "/min")
    rising.sort(key=lambda item: -item[1])
    detail = ", ".join(f"{name} {rate:.1f}/min" for name, rate in rising[:5])
    return _finding(
        "snmp.if_errors",
        Verdict.WARN,
        "snmp.if_errors.rising",
        device,
        round(rising[0][1], 1),
        warn_per_min,
        "/min",
        detail=detail,
    )


def judge_codec(device: str, reading: DeviceReading) -> list[Finding]:
    findings = []
    states = reading.registration
    detail = ", ".join(f"{service.upper()} {state}" for service, state in sorted(states.items()))
    if "failed" in states.values():
        findings.append(
            _finding("snmp.registration", Verdict.FAIL, "snmp.registration.failed", device, detail, detail=detail)
        )
    elif "registered" in states.values():
        findings.append(
            _finding("snmp.registration", Verdict.OK, "snmp.registration.ok", device, detail, detail=detail)
        )
    elif states:
        findings.append(
            _finding("snmp.registration", Verdict.UNKNOWN, "snmp.registration.unknown", device, detail, detail=detail)
        )
    finding = judge_components(device, reading, "snmp.peripherals")
    if finding:
        findings.append(finding)
    return findings


def judge_components(device: str, reading: DeviceReading, check: str) -> Finding | None:
    """Component states: failed → fail, warning/unknown → warn; disabled and not-present are ignored."""
    parts = [c for c in reading.components if c.status not in ("disabled", "not-present")]
    if not parts:
        return None
    failed = [f"{c.kind} {c.name}" for c in parts if c.status == "failed"]
    warned = [f"{c.kind} {c.name}" for c in parts if c.status in ("warning", "unknown")]
    if failed:
        return _finding(check, Verdict.FAIL, "snmp.peripherals.failed", device, len(failed), detail=", ".join(failed))
    if warned:
        return _finding(check, Verdict.WARN, "snmp.peripherals.warning", device, len(warned), detail=", ".join(warned))
    return _finding(check, Verdict.OK, "snmp.peripherals.ok", device, 0, count=len(parts))


def judge_calls(device: str, reading: DeviceReading, t: DeviceThresholds) -> Finding | None:
    if not reading.calls:
        return None
    worst_loss, worst_jitter, far = 0.0, 0.0, "?"
    for call in reading.calls:
        loss = max(call.loss_rx_pct or 0, call.loss_tx_pct or 0)
        jitter = max(call.jitter_rx_ms or 0, call.jitter_tx_ms or 0)
        if (loss, jitter) > (worst_loss, worst_jitter):
            worst_loss, worst_jitter, far = loss, jitter, call.far_site or "?"
    loss_verdict, _ = _graded(worst_loss, t.call_loss_warn_pct, t.call_loss_fail_pct)
    jitter_verdict, _ = _graded(worst_jitter, t.call_jitter_warn_ms, t.call_jitter_fail_ms)
    verdict = worst([loss_verdict, jitter_verdict])
    code = "snmp.call_quality.ok" if verdict is Verdict.OK else "snmp.call_quality.degraded"
    return _finding(
        "snmp.call_quality",
        verdict,
        code,
        device,
        worst_loss,
        t.call_loss_warn_pct,
        "%",
        loss=worst_loss,
        jitter=worst_jitter,
        far=far,
    )


def judge(
    device: str, reading: DeviceReading, thresholds: DeviceThresholds, uplink: str | None = None
) -> list[Finding]:
    """Every finding this reading supports; an unreachable device yields only `snmp.reachable`."""
    findings = [judge_reachability(device, reading)]
    if not reading.reachable or reading.error:
        return findings
    t = thresholds
    for key, check, warn, fail, unit in (
        ("cpu_pct", "snmp.cpu", t.cpu_warn_pct, t.cpu_fail_pct, "%"),
        ("mem_pct", "snmp.memory", t.mem_warn_pct, t.mem_fail_pct, "%"),
        ("temperature_c", "snmp.temperature", t.temp_warn_c, t.temp_fail_c, "°C"),
    ):
        finding = _health(device, reading, key, check, warn, fail, unit)
        if finding:
            findings.append(finding)
    if reading.interfaces:
        findings.append(judge_interface_errors(device, reading.interfaces, t.if_errors_warn_per_min))
    if uplink:
        findings.append(judge_uplink(device, reading.interfaces, uplink))
    if reading.kind == "codec":
        findings += judge_codec(device, reading)
    else:
        sensors = judge_components(device, reading, "snmp.sensors")
        if sensors:
            findings.append(sensors)
    call = judge_calls(device, reading, t)
    if call:
        findings.append(call)
    return findings
