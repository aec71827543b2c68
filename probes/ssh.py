"""Judges what the SSH collector read from a codec (xAPI) or a switch (CLI).

Art. 13 (keep the private network and equipment free of faults): reachable, registered, no
diagnostics errors, media loss/jitter, temperature, uplink, CPU. Art. 17: a camera input without
signal while in a call means the venue sends no picture. Pure functions: readings in, findings out.
"""

from __future__ import annotations

from collectors.ssh.readings import CodecStatus, SshInterface, SshReading
from contract.catalog import Catalog
from contract.findings import Article, Finding, Verdict, worst
from probes.device_thresholds import SshThresholds
from probes.grading import graded
from probes.uplink import uplink_state

SSH_MESSAGES = Catalog(
    {
        "ssh.reachable.ok": ("{device} SSH 登录正常（{device_type}）", "{device} answers over SSH ({device_type})"),
        "ssh.reachable.auth": (
            "{device} 拒绝登录（{detail}）：检查用户名、密码或密钥",
            "{device} refused the login ({detail}): check the user name, password or key",
        ),
        "ssh.reachable.hostkey_changed": (
            "{device} 的主机密钥已变化（{detail}）：设备可能被更换或遭冒充，核实后再更新 known_hosts",
            "{device} host key changed ({detail}): the device was replaced or is impersonated; "
            "verify, then update known_hosts",
        ),
        "ssh.reachable.hostkey_unknown": (
            "{device} 的主机密钥未登记（{detail}）：将其加入 known_hosts，或开启首次信任",
            "{device} host key is unknown ({detail}): add it to known_hosts or enable trust_on_first_use",
        ),
        "ssh.reachable.timeout": (
            "{device} 无响应（{detail}）：检查设备是否死机或网络拥塞",
            "{device} stopped answering ({detail}): check whether it hangs or the network is congested",
        ),
        "ssh.reachable.connect": (
            "{device} 无法建立 SSH 连接（{detail}）：检查电源、网络与 SSH 服务",
            "cannot connect to {device} ({detail}): check power, network and its SSH service",
        ),
        "ssh.reachable.closed": ("{device} 中断了连接（{detail}）", "{device} dropped the connection ({detail})"),
        "ssh.reachable.error": ("{device} SSH 出错：{detail}", "{device} SSH error: {detail}"),
        "ssh.reachable.config": ("{device} 配置错误：{detail}", "{device} is misconfigured: {detail}"),
        "ssh.commands.ok": ("{device} 命令执行正常", "{device} ran every command"),
        "ssh.commands.rejected": (
            "{device} 拒绝执行命令：{detail}（设备型号或版本与配置的类型不符？）",
            "{device} rejected a command: {detail} (device model or version not what device_type says?)",
        ),
        "ssh.commands.unparsed": (
            "{device} 的输出无法解析：{detail}",
            "{device} output could not be read: {detail}",
        ),
        "ssh.registration.ok": ("{device} 已注册：{detail}", "{device} is registered: {detail}"),
        "ssh.registration.failed": (
            "{device} 未注册（{detail}），无法入会",
            "{device} is not registered ({detail}); it cannot join conferences",
        ),
        "ssh.video_input.ok": ("{device} 摄像机输入信号正常：{detail}", "{device} camera input has signal: {detail}"),
        "ssh.video_input.no_signal": (
            "{device} 会议中视频输入无信号：{detail}，上传图像缺失",
            "{device} in a call without video input signal: {detail}; no picture goes up",
        ),
        "ssh.video_input.idle": (
            "{device} 视频输入：{detail}（未在会议中）",
            "{device} video inputs: {detail} (not in a call)",
        ),
        "ssh.media.ok": (
            "{device} 媒体通道正常：最大丢包 {loss:.1f}%，抖动 {jitter:.0f} ms",
            "{device} media ok: worst loss {loss:.1f} %, jitter {jitter:.0f} ms",
        ),
        "ssh.media.degraded": (
            "{device} 媒体通道质量差：{channel} 丢包 {loss:.1f}%，抖动 {jitter:.0f} ms",
            "{device} media degraded: {channel} loss {loss:.1f} %, jitter {jitter:.0f} ms",
        ),
        "ssh.diagnostics.ok": ("{device} 自诊断无错误", "{device} diagnostics report no error"),
        "ssh.diagnostics.problem": ("{device} 自诊断：{detail}", "{device} diagnostics: {detail}"),
        "ssh.temperature.ok": ("{device} 温度正常", "{device} temperature normal"),
        "ssh.temperature.high": ("{device} 温度{detail}", "{device} temperature {detail}"),
        "ssh.uplink.ok": ("{device} 上联口 {interface} 正常", "{device} uplink {interface} is up"),
        "ssh.uplink.down": (
            "{device} 上联口 {interface} 中断（管理 {admin}，运行 {oper}）",
            "{device} uplink {interface} is down (admin {admin}, oper {oper})",
        ),
        "ssh.uplink.missing": (
            "{device} 上没有配置的上联口 {interface}",
            "{device} has no interface {interface} (configured as uplink)",
        ),
        "ssh.if_errors.ok": ("{device} 接口无新增错误", "{device}: no interface errors rising"),
        "ssh.if_errors.rising": ("{device} 接口错误在增加：{detail}", "{device}: interface errors rising: {detail}"),
        "ssh.cpu.ok": ("{device} CPU {value:.0f}%", "{device} CPU at {value:.0f}%"),
        "ssh.cpu.high": (
            "{device} CPU 过高：{value:.0f}%（阈值 {threshold:.0f}%）",
            "{device} CPU high: {value:.0f}% (threshold {threshold:.0f}%)",
        ),
    }
)
REGISTERED = {"registered"}
NOT_CONFIGURED = {"inactive", "off", "none", ""}


def _finding(
    check: str,
    verdict: Verdict,
    code: str,
    device: str,
    value=None,
    threshold=None,
    unit=None,
    article: str = Article.ART13,
    **fields: object,
) -> Finding:
    return SSH_MESSAGES.finding(check, verdict, code, article, value, threshold, unit, device, device=device, **fields)


def judge_reachability(reading: SshReading) -> Finding:
    if reading.reachable:
        return _finding(
            "ssh.reachable", Verdict.OK, "ssh.reachable.ok", reading.device, True, device_type=reading.device_type
        )
    kind = reading.error_kind if f"ssh.reachable.{reading.error_kind}" in SSH_MESSAGES else "error"
    return _finding("ssh.reachable", Verdict.FAIL, f"ssh.reachable.{kind}", reading.device, False, detail=reading.error)


def judge_commands(reading: SshReading) -> Finding:
    if reading.rejected:
        detail = "; ".join(reading.rejected)
        return _finding(
            "ssh.commands", Verdict.FAIL, "ssh.commands.rejected", reading.device, len(reading.rejected), detail=detail
        )
    if reading.unparsed:
        detail = "; ".join(reading.unparsed)
        return _finding(
            "ssh.commands", Verdict.WARN, "ssh.commands.unparsed", reading.device, len(reading.unparsed), detail=detail
        )
    return _finding("ssh.commands", Verdict.OK, "ssh.commands.ok", reading.device, 0)


def judge_registration(device: str, codec: CodecStatus, required: bool) -> Finding | None:
    states = {service: (state or "") for service, state in codec.registration.items()}
    detail = ", ".join(f"{service.upper()} {state or '—'}" for service, state in sorted(states.items()))
    if any(state.lower() in REGISTERED for state in states.values()):
        return _finding("ssh.registration", Verdict.OK, "ssh.registration.ok", device, detail, detail=detail)
    if not required and all(state.lower() in NOT_CONFIGURED for state in states.values()):
        return None  # dialled by address through the MCU: no registration expected
    return _finding("ssh.registration", Verdict.FAIL, "ssh.registration.failed", device, detail, detail=detail)


def judge_video_inputs(device: str, codec: CodecStatus) -> Finding:
    connected = [i for i in codec.video_inputs if i.connected]
    described = ", ".join(f"#{i.connector} {i.type or ''} {i.signal or '?'}".replace("  ", " ") for i in connected)
    with_signal = [i for i in connected if (i.signal or "").upper() == "OK"]
    in_call = codec.active_calls > 0
    if in_call and not with_signal:
        detail = described or "no input connected"
        return _finding(
            "ssh.video_input",
            Verdict.FAIL,
            "ssh.video_input.no_signal",
            device,
            0,
            article=Article.ART17,
            detail=detail,
        )
    if not in_call:
        verdict = Verdict.OK if with_signal or not connected else Verdict.WARN
        return _finding(
            "ssh.video_input",
            verdict,
            "ssh.video_input.idle",
            device,
            len(with_signal),
            article=Article.ART17,
            detail=described or "no input connected",
        )
    return _finding(
        "ssh.video_input",
        Verdict.OK,
        "ssh.video_input.ok",
        device,
        len(with_signal),
        article=Article.ART17,
        detail=described,
    )


def judge_media(device: str, codec: CodecStatus, t: SshThresholds) -> Finding | None:
    channels = [m for m in codec.media if m.loss_pct is not None or m.jitter_ms is not None]
    if not channels:
        return None
    judged = []
    for m in channels:
        loss, jitter = m.loss_pct or 0.0, m.jitter_ms or 0.0
        verdict = worst(
            [
                graded(loss, t.call_loss_warn_pct, t.call_loss_fail_pct),
                graded(jitter, t.call_jitter_warn_ms, t.call_jitter_fail_ms),
            ]
        )
        judged.append((verdict, loss, jitter, f"{m.direction or ''} {m.type or ''} #{m.channel}".strip()))
    verdict, loss, jitter, channel = max(judged, key=lambda g: (g[0] is Verdict.FAIL, g[0] is Verdict.WARN, g[1], g[2]))
    code = "ssh.media.ok" if verdict is Verdict.OK else "ssh.media.degraded"
    return _finding(
        "ssh.media",
        verdict,
        code,
        device,
        round(loss, 2),
        t.call_loss_warn_pct,
        "%",
        loss=loss,
        jitter=jitter,
        channel=channel,
    )


def judge_diagnostics(device: str, codec: CodecStatus) -> Finding | None:
    if not codec.diagnostics_read:
        return None  # `xStatus Diagnostics` not asked or refused (docs/ssh.md): absent, not "no problems"
    errors = [d for d in codec.diagnostics if d.level.lower() in ("error", "critical")]
    warnings = [d for d in codec.diagnostics if d.level.lower() == "warning"]
    listed = errors or warnings
    if not listed:
        return _finding("ssh.diagnostics", Verdict.OK, "ssh.diagnostics.ok", device, 0)
    detail = "; ".join(f"{d.level} {d.type or ''}: {d.description or ''}".strip() for d in listed[:5])
    verdict = Verdict.FAIL if errors else Verdict.WARN
    return _finding("ssh.diagnostics", verdict, "ssh.diagnostics.problem", device, len(listed), detail=detail)


# A TC codec reports degrees and the point where it shuts itself down (TemperatureThreshold), not a
# word: at the threshold it fails; within this margin below it, it warns (our margin: the guide
# gives only the shutdown point, and 10 °C leaves time to act before a conference is cut off).
TC_TEMPERATURE_MARGIN_C = 10.0


def _judge_degrees(device: str, celsius: float, limit: float) -> Finding:
    detail = f"{celsius:.1f} °C (shutdown at {limit:.0f} °C)"
    if celsius < limit - TC_TEMPERATURE_MARGIN_C:
        return _finding("ssh.temperature", Verdict.OK, "ssh.temperature.ok", device, celsius, limit, "°C")
    verdict = Verdict.FAIL if celsius >= limit else Verdict.WARN
    return _finding("ssh.temperature", verdict, "ssh.temperature.high", device, celsius, limit, "°C", detail=detail)


def judge_temperature(device: str, codec: CodecStatus) -> Finding | None:
    if codec.temperature is None:
        if codec.temperature_c is not None and codec.temperature_limit_c is not None:
            return _judge_degrees(device, codec.temperature_c, codec.temperature_limit_c)
        return None
    state = codec.temperature.lower()
    if state == "normal":
        return _finding("ssh.temperature", Verdict.OK, "ssh.temperature.ok", device, codec.temperature)
    verdict = Verdict.FAIL if state == "critical" else Verdict.WARN
    return _finding(
        "ssh.temperature", verdict, "ssh.temperature.high", device, codec.temperature, detail=codec.temperature
    )


def judge_uplink(device: str, interfaces: list[SshInterface], uplink: str) -> Finding:
    state = uplink_state(interfaces, uplink, lambda i: (i.name, i.description))
    wanted = state.port
    if wanted is None:
        return _finding("ssh.uplink", state.verdict, "ssh.uplink.missing", device, None, interface=uplink)
    if state.outcome == "ok":
        return _finding("ssh.uplink", state.verdict, "ssh.uplink.ok", device, "up", interface=wanted.name)
    return _finding(
        "ssh.uplink",
        state.verdict,
        "ssh.uplink.down",
        device,
        wanted.oper_status,
        interface=wanted.name,
        admin=wanted.admin_status,
        oper=wanted.oper_status,
    )


def judge_interface_errors(
    device: str, previous: list[SshInterface] | None, current: list[SshInterface]
) -> Finding | None:
    """Errors counted up since the previous poll (only where the CLI gives counters: VRP's brief)."""
    if previous is None or not any(i.in_errors is not None for i in current):
        return None  # a rise needs two polls
    before = {i.name: (i.in_errors or 0) + (i.out_errors or 0) for i in previous or []}
    rising = [
        (i.name, (i.in_errors or 0) + (i.out_errors or 0) - before[i.name])
        for i in current
        if i.name in before and (i.in_errors or 0) + (i.out_errors or 0) > before[i.name]
    ]
    if not rising:
        return _finding("ssh.if_errors", Verdict.OK, "ssh.if_errors.ok", device, 0)
    detail = ", ".join(f"{name} +{count}" for name, count in rising[:5])
    return _finding(
        "ssh.if_errors", Verdict.WARN, "ssh.if_errors.rising", device, sum(c for _, c in rising), detail=detail
    )


def judge(
    reading: SshReading,
    thresholds: SshThresholds,
    uplink: str | None = None,
    require_registration: bool = True,
    previous: SshReading | None = None,
) -> list[Finding]:
    """Every finding the reading supports; an unreachable device yields only `ssh.reachable`."""
    findings = [judge_reachability(reading)]
    if not reading.reachable:
        return findings
    device = reading.device
    findings.append(judge_commands(reading))
    codec = reading.codec
    if codec is not None:
        optional = [
            judge_registration(device, codec, require_registration),
            judge_video_inputs(device, codec),
            judge_media(device, codec, thresholds),
            judge_diagnostics(device, codec),
            judge_temperature(device, codec),
        ]
        findings += [f for f in optional if f is not None]
    if reading.cpu_pct is not None:
        verdict = graded(reading.cpu_pct, thresholds.cpu_warn_pct, thresholds.cpu_fail_pct)
        threshold = thresholds.cpu_fail_pct if verdict is Verdict.FAIL else thresholds.cpu_warn_pct
        code = "ssh.cpu.ok" if verdict is Verdict.OK else "ssh.cpu.high"
        findings.append(_finding("ssh.cpu", verdict, code, device, reading.cpu_pct, threshold, "%"))
    if reading.interfaces:
        errors = judge_interface_errors(device, previous.interfaces if previous else None, reading.interfaces)
        if errors is not None:
            findings.append(errors)
    if uplink:
        findings.append(judge_uplink(device, reading.interfaces, uplink))
    return findings
