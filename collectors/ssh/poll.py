"""One poll of one SSH device from the asyncio runtime: its commands run in a bounded thread pool.

netmiko blocks, so sessions live in worker threads; the pool's size bounds how many devices are
talked to at once (and how many threads exist), and each device's session stays open between polls.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor

from collectors.ssh import codec, gear
from collectors.ssh.profile import SshProfile, profile_for
from collectors.ssh.readings import SshReading
from collectors.ssh.session import SshError, SshSession


def read(session: SshSession) -> SshReading:
    """Blocking: run the device's commands and parse them (in a worker thread)."""
    target = session.target
    profile = profile_for(target.device_type)
    reading = SshReading(device=target.name, target=target.address, device_type=target.device_type, reachable=False)
    try:
        outputs = _run_commands(session, profile)
    except SshError as exc:
        reading.error_kind, reading.error = exc.kind, exc.detail
        return reading
    reading.reachable = True
    refused = set()
    for command, output in outputs.items():
        if (line := profile.rejection_of(output)) is not None:
            reading.rejected.append(f"{command}: {line}")
            refused.add(command)
    if profile.kind == "codec":
        reading.codec = codec.codec_status(codec.merge(outputs))
        if (dialect := profile.dialect_for(reading.codec.software)) is not None:
            reading.codec.dialect = dialect.name
        # a codec not asked for its diagnostics, or refusing them, must not read as "no problems"
        reading.codec.diagnostics_read = any(c.lower() == "xstatus diagnostics" and c not in refused for c in outputs)
    if profile.interfaces is not None and profile.interfaces.command not in refused:
        try:
            reading.interfaces = gear.interfaces(profile, outputs[profile.interfaces.command])
        except gear.GearParseError as exc:
            reading.unparsed.append(str(exc))
    if profile.cpu is not None and profile.cpu.command not in refused:
        try:
            reading.cpu_pct = gear.cpu_pct(profile, outputs[profile.cpu.command])
        except gear.GearParseError as exc:
            reading.unparsed.append(str(exc))
    return reading


def _run_commands(session: SshSession, profile: SshProfile) -> dict[str, str]:
    """Every command's output. A profile with dialects runs its common commands first: their answer
    names the software line (TC or CE/RoomOS), then only that line's commands are asked, since
    the codec refuses a path its line does not have."""
    if not profile.dialects:
        return session.run(profile.all_commands())
    outputs = session.run(profile.commands)
    dialect = profile.dialect_for(codec.codec_status(codec.merge(outputs)).software)
    rest = [command for command in (dialect.commands if dialect else []) if command not in outputs]
    return outputs | session.run(rest)


class SshPool:
    """Worker threads for blocking SSH sessions, sized to the number of devices talked to at once."""

    def __init__(self, workers: int):
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ssh")

    async def poll(self, session: SshSession) -> SshReading:
        """Read one device; a poll that outlives its budget is cut off (netmiko has waits that do
        not honour its timeouts) and reported as a timeout, and the worker thread is freed."""
        target = session.target
        budget = session.budget_s(len(profile_for(target.device_type).all_commands()))
        future = asyncio.get_running_loop().run_in_executor(self.executor, read, session)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout=budget)
        except TimeoutError:
            session.abort()
            with contextlib.suppress(TimeoutError, Exception):
                await asyncio.wait_for(future, timeout=10)
            return SshReading(
                device=target.name,
                target=target.address,
                device_type=target.device_type,
                reachable=False,
                error_kind="timeout",
                error=f"{target.address} did not finish a poll within {budget:.0f} s",
            )
        except asyncio.CancelledError:
            session.abort()  # the monitor is stopping: do not leave a worker waiting on the device
            raise

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
