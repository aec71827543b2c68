"""The trap monitor: one receiver for the agent's `[[snmp.devices]]`, each trap an event at once.

A trap's sender is matched to a configured device by address (a device named by host name is
resolved when the receiver starts); the trap becomes one event (probes/snmp_traps.py) and, with
`poll_on_trap`, wakes that device's poll loop, so the state the trap announced is confirmed or
corrected within one request timeout instead of at the next period. A trap from an address that is
not configured is counted and logged at a limited rate, never published: anyone on the LAN can send
UDP. The receiver's own state is the check `snmp.traps` (ok while listening; fail when the port
cannot be bound, then retried with the supervisor's backoff).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket

from agent.config.devices import SnmpDeviceConfig
from agent.config.models import Settings
from agent.devices.snmp_credentials import SnmpCredentials, credentials_of
from agent.monitors import Monitor, Reporter
from collectors.snmp.traps import TrapConfig, TrapReceiver, TrapRecord, TrapUser, communities_of
from contract.secrets import SecretError
from probes.snmp_traps import bind_failed, judge_trap, listening

log = logging.getLogger(__name__)


def _credentials(device: SnmpDeviceConfig) -> SnmpCredentials | None:
    """The device's secrets, or None (logged, naming the field) when one cannot be had: its traps are then
    not accepted, while the other devices' are, and its poll reports the same problem as a finding."""
    try:
        return credentials_of(device)
    except SecretError as exc:
        log.error("SNMP traps from %s are not accepted: %s", device.name, exc)
        return None


def trap_users(devices: list[SnmpDeviceConfig]) -> tuple[TrapUser, ...]:
    """The SNMPv3 users of the polled devices, with the engine IDs of the devices that send their traps."""
    users: dict[str, TrapUser] = {}
    for device in devices:
        v3 = device.v3
        if v3 is None or (secrets := _credentials(device)) is None:
            continue
        known = users.get(v3.user)
        engine_ids = (known.engine_ids if known else ()) + ((device.trap_engine_id,) if device.trap_engine_id else ())
        users[v3.user] = TrapUser(
            v3.user,
            v3.auth_protocol,
            secrets.auth_key,
            v3.priv_protocol,
            secrets.priv_key,
            engine_ids,
        )
    return tuple(users.values())


def trap_communities(settings: Settings) -> tuple[str, ...]:
    traps = settings.snmp.traps
    if traps.communities_env:
        return communities_of(part.strip() for part in os.environ.get(traps.communities_env, "").split(","))
    found = (
        secrets.community
        for device in settings.snmp.devices
        if device.version != "3" and (secrets := _credentials(device)) is not None
    )
    return communities_of(found)


async def addresses_of(devices: list[SnmpDeviceConfig]) -> dict[str, SnmpDeviceConfig]:
    """Each device under every address its host resolves to (a name that does not resolve is logged)."""
    loop = asyncio.get_running_loop()
    found: dict[str, SnmpDeviceConfig] = {}
    for device in devices:
        try:
            found[str(ipaddress.ip_address(device.host))] = device
            continue
        except ValueError:
            pass
        try:
            infos = await loop.getaddrinfo(device.host, None, type=socket.SOCK_DGRAM)
        except OSError as exc:
            log.warning("SNMP traps: cannot resolve %s (%s): %s", device.name, device.host, exc)
            continue
        for info in infos:
            found[str(info[4][0])] = device
    return found


def trap_monitor(settings: Settings, wakes: dict[str, asyncio.Event]) -> Monitor:
    traps = settings.snmp.traps
    address = f"{traps.listen}:{traps.port}"

    async def run(reporter: Reporter) -> None:
        devices = await addresses_of(settings.snmp.devices)
        strangers: dict[str, int] = {}

        def on_trap(record: TrapRecord) -> None:
            device = devices.get(record.device)
            if device is None:
                strangers[record.device] = strangers.get(record.device, 0) + 1
                if strangers[record.device] in (1, 10, 100, 1000):  # a rate that cannot fill the journal
                    log.warning(
                        "SNMP trap %s from %s, which is no configured device (%d so far)",
                        record.name,
                        record.device,
                        strangers[record.device],
                    )
                return
            reporter.announce(judge_trap(device.name, record, device.uplink))
            if traps.poll_on_trap:
                wakes[device.name].set()

        receiver = TrapReceiver(
            TrapConfig(
                host=str(traps.listen),
                port=traps.port,
                communities=trap_communities(settings),
                users=trap_users(settings.snmp.devices),
                log_interval_s=traps.log_interval_s,
                engine_id=traps.engine_id,
            ),
            on_trap=on_trap,
        )
        try:
            await receiver.start()
        except OSError as exc:
            reporter.report(bind_failed(address, exc.strerror or str(exc)))
            raise  # the supervisor retries with backoff (another program may free the port)
        reporter.report(listening(address))
        try:
            await asyncio.Event().wait()  # until cancelled: the receiver works from the loop's callbacks
        finally:
            await receiver.stop()

    return Monitor("snmp:traps", run)
