"""The SSH monitor: each configured codec or switch read on its own schedule, sessions kept open.

One supervised loop per device; the blocking netmiko sessions run in one shared pool of worker
threads (its size bounds the threads and the devices talked to at once). A codec's active calls
and call details go into the device summary, where the conference record reads them (Art. 3, 20).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.config.devices import SshConfig, SshDeviceConfig
from agent.config.models import Settings
from agent.config.secrets import SecretError, resolve_password_fields
from agent.devices.summary import DeviceSummary
from agent.monitors import Monitor, Reporter
from collectors.ssh.poll import SshPool
from collectors.ssh.profile import profile_for
from collectors.ssh.readings import SshReading
from collectors.ssh.session import SshSession, SshTarget
from probes.ssh import judge, judge_reachability

log = logging.getLogger(__name__)


def ssh_target(device: SshDeviceConfig, config: SshConfig, state_dir: Path) -> SshTarget:
    """The collector's view of a configured device, password resolved (SecretError if missing)."""
    password = resolve_password_fields(device, f"ssh.devices[{device.name}]")
    return SshTarget(
        name=device.name,
        host=device.host,
        port=device.port,
        device_type=device.device_type,
        username=device.username,
        password=password,
        key_file=device.key_file,
        known_hosts=config.known_hosts or state_dir / "ssh_known_hosts",
        trust_on_first_use=config.trust_on_first_use,
        connect_timeout_s=config.connect_timeout_s,
        command_timeout_s=config.command_timeout_s,
    )


def config_failure(device: SshDeviceConfig, error: str) -> SshReading:
    """The reading of a device the agent could not even try (a secret is missing)."""
    return SshReading(
        device=device.name,
        target=f"{device.host}:{device.port}",
        device_type=device.device_type,
        reachable=False,
        error_kind="config",
        error=error,
    )


class CallLog:
    """Remembers a codec's calls across polls, so the status can say how the last one ended."""

    def __init__(self) -> None:
        self.open: dict[int, dict] = {}
        self.last: dict | None = None

    def update(self, calls: list[dict], now: datetime) -> dict | None:
        current = {call["id"]: call for call in calls}
        for call_id, call in self.open.items():
            if call_id not in current:
                started = call.get("started_at")
                ended = now.isoformat()
                duration = None if started is None else round((now - datetime.fromisoformat(started)).total_seconds())
                self.last = {**call, "status": "Ended", "ended_at": ended, "duration_s": duration}
        self.open = current
        return self.last


def device_summary(reading: SshReading, now: datetime | None = None, call_log: CallLog | None = None) -> DeviceSummary:
    """What the status shows of a device: for codecs the calls, with when each began, and how the
    last one ended."""
    now = now or datetime.now(UTC)
    summary: dict = {
        "via": "ssh",
        "reachable": reading.reachable,
        "error": reading.error,
        "device_type": reading.device_type,
        "kind": profile_for(reading.device_type).kind,
        "read_at": now,
    }
    if reading.codec is not None:
        codec = reading.codec
        summary |= {
            "system_state": codec.system_state,
            "calls": codec.active_calls,
            "call": [
                {
                    "id": call.id,
                    "status": call.status,
                    "remote": call.remote,
                    "protocol": call.protocol,
                    "duration_s": call.duration_s,
                    "started_at": (now - timedelta(seconds=call.duration_s)).isoformat()
                    if call.duration_s is not None
                    else None,
                }
                for call in codec.calls
            ],
            "registration": codec.registration,
        }
        if call_log is not None:
            summary["last_call"] = call_log.update(summary["call"], now)
    if reading.interfaces:
        summary |= {
            "interfaces": len(reading.interfaces),
            "interfaces_up": sum(1 for i in reading.interfaces if i.oper_status == "up"),
        }
    if reading.cpu_pct is not None:
        summary["cpu_pct"] = reading.cpu_pct
    return DeviceSummary(**summary)


class _SharedPool:
    """One pool for all device loops; closed when the last loop ends (a reload builds a new one)."""

    def __init__(self, workers: int):
        self.workers = workers
        self.pool: SshPool | None = None
        self.users = 0

    def acquire(self) -> SshPool:
        if self.pool is None:
            self.pool = SshPool(self.workers)
        self.users += 1
        return self.pool

    def release(self) -> None:
        self.users -= 1
        if self.users == 0 and self.pool is not None:
            self.pool.executor.shutdown(wait=False, cancel_futures=True)
            self.pool = None


async def _target_when_resolved(
    device: SshDeviceConfig, config: SshConfig, state_dir: Path, reporter: Reporter, interval: float
) -> SshTarget:
    """The device's target once its password resolves. A missing one (a `password_env` the
    environment file lacks, an unreadable password_file or credential) is an `ssh.reachable.config`
    finding naming the config field and one log line, repeated every poll period: not an exception,
    which the supervisor would restart with a traceback each time (the crash loop of issue #14).
    A file that appears later is picked up at the next period; a variable, after a restart."""
    said: str | None = None
    while True:
        try:
            return ssh_target(device, config, state_dir)
        except SecretError as exc:
            error = str(exc)
            if error != said:
                log.warning("SSH device %s is not read until its secret is set: %s", device.name, error)
                said = error
            reporter.report(judge_reachability(config_failure(device, error)))
            await asyncio.sleep(interval)


def build(settings: Settings) -> list[Monitor]:
    config = settings.ssh
    shared = _SharedPool(config.workers)
    monitors = []
    for device in config.devices:
        interval = device.interval_s or config.interval_s

        async def run(reporter: Reporter, device: SshDeviceConfig = device, interval: float = interval) -> None:
            target = await _target_when_resolved(device, config, settings.agent.state_dir, reporter, interval)
            session = SshSession(target)
            pool = shared.acquire()
            previous: SshReading | None = None
            call_log = CallLog()
            try:
                while True:
                    reading = await pool.poll(session)
                    for finding in judge(
                        reading, config.thresholds, device.uplink, device.require_registration, previous
                    ):
                        reporter.report(finding)
                    reporter.set_device(device.name, device_summary(reading, call_log=call_log))
                    if reading.cpu_pct is not None:
                        reporter.set_metric(f"ssh.{device.name}.cpu_pct", reading.cpu_pct)
                    previous = reading if reading.reachable else previous
                    await asyncio.sleep(interval)
            finally:
                await asyncio.to_thread(session.close)
                shared.release()

        monitors.append(Monitor(f"ssh:{device.name}", run))
    return monitors
