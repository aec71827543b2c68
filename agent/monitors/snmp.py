"""The SNMP monitor: every configured device polled on its own schedule, all on one engine.

One supervised loop per device (a dead device never delays another), a shared semaphore bounding
how many polls run at once, counter rates kept per device across polls, and findings reported
with the device name as subject — so the status has one verdict per check and device, and a
change raises one event, not one per poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime

from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

from agent.config.devices import SnmpDeviceConfig
from agent.config.models import Settings
from agent.config.secrets import SecretError
from agent.devices.snmp_credentials import credentials_of
from agent.devices.summary import DeviceSummary
from agent.monitors import Monitor, Reporter
from agent.monitors.snmp_traps import trap_monitor
from collectors.snmp.poll import poll_device
from collectors.snmp.profile import ProfileError
from collectors.snmp.rates import RateTracker
from collectors.snmp.reading import DeviceReading
from collectors.snmp.session import SnmpSession, SnmpTarget
from probes.snmp import judge, judge_reachability

log = logging.getLogger(__name__)


def snmp_target(device: SnmpDeviceConfig, timeout_s: float, retries: int) -> SnmpTarget:
    """The collector's view of a configured device, secrets resolved (SecretError if missing)."""
    secrets = credentials_of(device)
    v3 = device.v3
    return SnmpTarget(
        host=device.host,
        port=device.port,
        version=device.version,
        community=secrets.community,
        user=v3.user if v3 else None,
        auth_protocol=v3.auth_protocol if v3 else None,
        auth_key=secrets.auth_key,
        priv_protocol=v3.priv_protocol if v3 else None,
        priv_key=secrets.priv_key,
        timeout_s=timeout_s,
        retries=retries,
    )


def config_failure(device: SnmpDeviceConfig, error: str) -> DeviceReading:
    """The reading of a device the agent could not even ask (a secret is missing)."""
    return DeviceReading(target=f"{device.host}:{device.port}", reachable=False, error_kind="config", error=error)


async def read_device(session: SnmpSession, device: SnmpDeviceConfig) -> DeviceReading:
    """One poll through the device's profile; a profile that does not fit is a reading, not a crash."""
    try:
        return await poll_device(session, device.profile)
    except ProfileError as exc:
        return DeviceReading(
            target=f"{device.host}:{device.port}", reachable=True, error_kind="profile", error=str(exc)
        )


def device_summary(reading: DeviceReading) -> DeviceSummary:
    """What the status shows of a device (the full reading is the probe's business)."""
    return DeviceSummary(
        via="snmp",
        reachable=reading.reachable and reading.error is None,
        error=reading.error,
        profile=reading.profile,
        kind=reading.kind,
        sys_descr=reading.sys_descr,
        uptime_s=reading.uptime_s,
        identity=reading.identity,
        registration=reading.registration,
        interfaces_up=sum(1 for i in reading.interfaces if i.oper_status == "up"),
        interfaces=len(reading.interfaces),
        calls=len(reading.calls),
        read_at=datetime.now(UTC),
    )


class _Shared:
    """The engine and the concurrency bound, created on the agent's loop when first needed."""

    def __init__(self, concurrency: int):
        self.concurrency = concurrency
        self.engine: SnmpEngine | None = None
        self.slots: asyncio.Semaphore | None = None

    def ready(self) -> tuple[SnmpEngine, asyncio.Semaphore]:
        if self.engine is None or self.slots is None:
            self.engine = SnmpEngine()
            self.slots = asyncio.Semaphore(self.concurrency)
        return self.engine, self.slots


def build(settings: Settings) -> list[Monitor]:
    config = settings.snmp
    shared = _Shared(config.concurrency)
    wakes = {device.name: asyncio.Event() for device in config.devices}  # set by the trap receiver
    monitors = []
    for device in config.devices:
        interval = device.interval_s or config.interval_s

        async def run(reporter: Reporter, device: SnmpDeviceConfig = device, interval: float = interval) -> None:
            engine, slots = shared.ready()
            rates = RateTracker()
            target = await _target_when_resolved(device, config.timeout_s, config.retries, reporter, wakes, interval)
            session = SnmpSession(engine, target)
            while True:
                async with slots:
                    reading = await read_device(session, device)
                rates.annotate(reading, time.monotonic())
                for finding in judge(device.name, reading, config.thresholds, device.uplink):
                    reporter.report(finding)
                reporter.set_device(device.name, device_summary(reading))
                for metric, values in reading.health.items():
                    if values:
                        reporter.set_metric(f"snmp.{device.name}.{metric}", max(v.value for v in values))
                await _sleep_or_wake(wakes[device.name], interval)

        monitors.append(Monitor(f"snmp:{device.name}", run))
    if config.traps.enabled:
        monitors.append(trap_monitor(settings, wakes))
    return monitors


async def _target_when_resolved(
    device: SnmpDeviceConfig,
    timeout_s: float,
    retries: int,
    reporter: Reporter,
    wakes: dict[str, asyncio.Event],
    interval: float,
) -> SnmpTarget:
    """The device's target once its secrets resolve. A missing one (an `*_env` variable the
    environment file lacks, an unreadable file) is a finding naming the config field and one log
    line, repeated at every poll period: not an exception, which the supervisor would restart with
    a traceback each time (the crash loop of issue #14) while the device just needs its secret. A
    file that appears later is picked up at the next period; a variable, after a restart."""
    said: str | None = None
    while True:
        try:
            return snmp_target(device, timeout_s, retries)
        except SecretError as exc:
            error = str(exc)
            if error != said:
                log.warning("SNMP device %s is not polled until its secret is set: %s", device.name, error)
                said = error
            reporter.report(judge_reachability(device.name, config_failure(device, error)))
            await _sleep_or_wake(wakes[device.name], interval)


async def _sleep_or_wake(wake: asyncio.Event, interval: float) -> None:
    """The poll period, cut short when a trap from the device asks for a poll now."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), timeout=interval)
    wake.clear()
