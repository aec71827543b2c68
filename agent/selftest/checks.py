"""The self-test's checks, one coroutine per group; each returns the findings it could establish.

Blocking work (echo probes, NTP, sampling a stream or a sound input) runs in worker threads. In the
daemon a monitor that already watches the same thing (video, audio) is asked first: its verdict of
the last seconds is the truth, and a capture card or sound input is not opened twice.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Callable

from agent.config.models import SelftestConfig, Settings
from agent.config.secrets import SecretError
from agent.selftest.report import SELFTEST_MESSAGES
from agent.sources import DEVICE_SOURCES, poll_devices
from collectors.host import read_disk
from collectors.net.clock import ntp_offset
from collectors.net.path import icmp_echo, tcp_connect_echo, tcp_port, udp_echo
from contract.conference import Conference
from contract.findings import ADVISORY_CHECKS, Article, Finding, Verdict
from probes.clock import judge_clock
from probes.host import disk_unreadable, judge_disk
from probes.net import judge_path, judge_port

# (checks, oldest age in seconds) → the monitor's findings of those checks if all are that fresh, else None.
LiveFindings = Callable[[tuple[str, ...], float], list[Finding] | None]
ART17_VIDEO = ("video.signal", "video.brightness", "video.clarity", "video.colour")
ART17_AUDIO = ("audio.signal", "audio.level", "audio.clarity", "audio.noise")
PORT_NAMES = {5060: "SIP", 5061: "SIP-TLS", 1720: "H.323"}
ADVISORY_VIDEO = tuple(sorted(ADVISORY_CHECKS))  # the checks the seating check adds
_NUMBER = re.compile(r"^\+?[0-9 #*-]+$")


def far_end_host(conference: Conference | None, config: SelftestConfig) -> str | None:
    """The host to probe: the conference's far end when it is an address, else the configured one.

    A far end may be written `10.1.1.1`, `mcu.example`, `sip:8001@10.1.1.1:5060` or only a number
    (`8001`, dialled through the MCU); a number has no host, so the configured far end is used.
    """
    text = (conference.far_end or "").strip() if conference else ""
    text = re.sub(r"^(sips?|h323|tel):", "", text, flags=re.IGNORECASE).split("@")[-1]
    if text.count(":") == 1:
        text = text.split(":")[0]  # host:port (IPv6 literals keep their colons)
    if text and not _NUMBER.match(text):
        return text
    return config.far_end


async def snmp_devices(settings: Settings) -> list[Finding]:
    """A fresh poll of every SNMP device, judged as the monitor judges it (reachable, registered…)."""
    from pysnmp.hlapi.v3arch.asyncio import SnmpEngine  # each stack loads only where it is configured

    from agent.monitors.snmp import config_failure, read_device, snmp_target
    from collectors.snmp.session import SnmpSession, close_engine
    from probes.snmp import judge, judge_reachability

    config = settings.snmp
    engine = SnmpEngine()

    async def one(device) -> list[Finding]:
        try:
            target = snmp_target(device, config.timeout_s, config.retries)
        except SecretError as exc:
            return [judge_reachability(device.name, config_failure(device, str(exc)))]
        reading = await read_device(SnmpSession(engine, target), device)
        return judge(device.name, reading, config.thresholds, device.uplink)

    try:
        results = await asyncio.gather(*(one(device) for device in config.devices))
    finally:
        await close_engine(engine)
    return [finding for findings in results for finding in findings]


async def ssh_devices(settings: Settings) -> list[Finding]:
    """A fresh SSH login and read of every `[[ssh.devices]]` entry (proves the login works too)."""
    from agent.monitors.ssh import config_failure, ssh_target
    from collectors.ssh.poll import SshPool
    from collectors.ssh.session import SshSession
    from probes.ssh import judge, judge_reachability

    config = settings.ssh
    pool = SshPool(max(1, min(config.workers, len(config.devices))))

    async def one(device) -> list[Finding]:
        try:
            target = ssh_target(device, config, settings.agent.state_dir)
        except SecretError as exc:
            return [judge_reachability(config_failure(device, str(exc)))]
        session = SshSession(target)
        try:
            reading = await pool.poll(session)
        finally:
            await asyncio.to_thread(session.close)
        return judge(reading, config.thresholds, device.uplink, device.require_registration)

    try:
        results = await asyncio.gather(*(one(device) for device in config.devices))
    finally:
        pool.executor.shutdown(wait=False, cancel_futures=True)
    return [finding for findings in results for finding in findings]


async def devices(settings: Settings, live: LiveFindings | None = None) -> list[Finding]:
    """Every configured device source (SNMP, SSH…) polled afresh, side by side. Rising interface
    errors need two polls, which a fresh poll cannot have: in the daemon the monitors' verdicts of
    those are taken instead."""
    sources = [source for source in DEVICE_SOURCES if source.configured(settings)]
    results = await asyncio.gather(*(poll_devices(source)(settings) for source in sources))
    findings = [finding for found in results for finding in found]
    if live is None:
        return findings
    for source in sources:
        check, interval = f"{source.check_prefix}if_errors", getattr(settings, source.name).interval_s
        monitored = {f.subject: f for f in live((check,), 3 * interval) or []}
        findings = [f for f in findings if not (f.check == check and f.subject in monitored)]
        findings += monitored.values()
    return findings
    for check, interval in (("snmp.if_errors", settings.snmp.interval_s), ("ssh.if_errors", settings.ssh.interval_s)):
        monitored = {f.subject: f for f in live((check,), 3 * interval) or []}
        findings = [f for f in findings if not (f.check == check and f.subject in monitored)]
        findings += monitored.values()
    return findings


def measure_path(config: SelftestConfig, host: str):
    """UDP echo when the far end offers one; else ICMP echo; else (ICMP not permitted to this
    process) TCP handshake times to the first signalling port."""
    if config.udp_echo_port is not None:
        return udp_echo(host, config.udp_echo_port, config.probes, config.probe_interval_s)
    reading = icmp_echo(host, config.probes, config.probe_interval_s)
    if reading.error and "not permitted" in reading.error and config.ports:
        return tcp_connect_echo(host, config.ports[0], config.probes, config.probe_interval_s)
    return reading


async def network_path(config: SelftestConfig, host: str) -> list[Finding]:
    """Latency, loss and jitter to the far end, and its SIP / H.323 ports, measured side by side."""
    ports = [asyncio.to_thread(tcp_port, host, port, PORT_NAMES.get(port, f"TCP {port}")) for port in config.ports]
    path_reading, *port_readings = await asyncio.gather(asyncio.to_thread(measure_path, config, host), *ports)
    return [judge_path(path_reading, config.path)] + [judge_port(host, reading) for reading in port_readings]


async def wait_for_live(
    live: LiveFindings, checks: tuple[str, ...], max_age_s: float, wait_s: float
) -> list[Finding] | None:
    """The monitor's fresh findings, waiting up to wait_s for them (it may have just started)."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while (found := live(checks, max_age_s)) is None and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.5)
    return found


def _monitor_silent(check: str, article: str, waited_s: float) -> Finding:
    return SELFTEST_MESSAGES.finding(check, Verdict.UNKNOWN, "selftest.monitor_silent", article, waited=waited_s)


async def video(settings: Settings, framing: bool, live: LiveFindings | None) -> list[Finding]:
    """Art. 17 picture (and at the seating check Art. 15/16 framing) from the monitor or a short sample."""
    from agent.sampling.video import sample_video

    config = settings.video
    assert config is not None
    if live is not None:  # in the daemon the monitor watches the source: never open it a second time
        fresh = await wait_for_live(live, ART17_VIDEO, 5.0, settings.selftest.sample_s + 5.0)
        if fresh is None:
            return [_monitor_silent("video.signal", Article.ART17, settings.selftest.sample_s + 5.0)]
        if not framing:
            return fresh
        framed = live(ADVISORY_VIDEO, config.framing_interval_s + 5.0)
        if framed:
            return fresh + framed
        pending = SELFTEST_MESSAGES.finding(
            "video.framing",
            Verdict.UNKNOWN,
            "selftest.framing_pending",
            Article.ART15,
            interval=config.framing_interval_s,
        )
        return [*fresh, pending]
    result = await asyncio.to_thread(
        sample_video,
        config.source,
        settings.selftest.sample_s,
        None,
        max(2.0, config.rate_hz),
        config.thresholds.model_copy(update={"window_s": math.inf}),
        config.decode,
    )
    return [f for f in result.findings if framing or f.check not in ADVISORY_VIDEO]


async def audio(settings: Settings, live: LiveFindings | None) -> list[Finding]:
    """Art. 17 sound: is the microphone alive and loud enough (from the monitor, or a short capture
    when there is no monitor: the CLI)."""
    from agent.sampling.audio import capture
    from collectors.audio.source import AudioSourceError
    from probes.audio_metrics import measure

    config = settings.audio
    assert config is not None
    if live is not None:  # the daemon's monitor holds the input (a sound card may not be opened twice)
        wait_s = config.interval_s + settings.selftest.sample_s
        fresh = await wait_for_live(live, ART17_AUDIO, 3.0 * config.interval_s, wait_s)
        return fresh if fresh is not None else [_monitor_silent("audio.signal", Article.ART17, wait_s)]
    from agent.sampling.reasons import with_reason
    from probes.audio import AUDIO_MESSAGES, AudioJudge  # SciPy: only for a venue with [audio]

    judge = AudioJudge(config.thresholds)
    try:
        samples, rate, _overflows = await asyncio.to_thread(
            capture, config.source, settings.selftest.sample_s, config.channel, config.rate
        )
    except AudioSourceError as exc:  # the reason in both languages, as the probe gives it
        return with_reason(judge.findings(None, str(exc)), AUDIO_MESSAGES, "audio.signal.none", exc.message)
    if not len(samples):
        return judge.findings(None, "no samples captured")
    metrics = await asyncio.to_thread(measure, samples, rate, config.thresholds.mains_hz)
    return judge.findings(metrics)


async def clock(config: SelftestConfig) -> list[Finding]:
    assert config.ntp_server is not None
    reading = await asyncio.to_thread(ntp_offset, config.ntp_server, config.ntp_port)
    return [judge_clock(reading, config.clock_warn_ms, config.clock_fail_ms)]


async def outbox_space(settings: Settings) -> list[Finding]:
    """Room for the outbox to keep every event through an outage (the state directory's disk)."""
    state_dir = settings.agent.state_dir
    try:
        reading = await asyncio.to_thread(read_disk, state_dir if state_dir.exists() else state_dir.parent)
    except OSError as exc:
        return [disk_unreadable(str(state_dir), exc.strerror or str(exc))]
    return [judge_disk(reading, settings.host.disk_warn_free_mb, settings.host.disk_fail_free_mb)]
