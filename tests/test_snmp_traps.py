"""The trap receiver against net-snmp's own senders: `snmptrap` and `snmpinform`, v2c and v3
authPriv, to a receiver on a loopback port; each notification becomes a record with its name and
fields, each inform is acknowledged (snmpinform exits 0 only then), and what is refused — a wrong
community, an unknown user, a wrong key, garbage — is counted and logged at a limited rate."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import time

import pytest

from collectors.snmp.trap_map import trap_map
from collectors.snmp.traps import TrapConfig, TrapReceiver, TrapRecord, TrapUser

pytestmark = pytest.mark.skipif(shutil.which("snmptrap") is None, reason="net-snmp's snmptrap is not installed")

COMMUNITY = "venue-traps"
SENDER_ENGINE = "0x80001f8880c0ffee0102030405"
USER = TrapUser("venue-agent", "sha256", "auth-key-123", "aes128", "priv-key-123", engine_ids=(SENDER_ENGINE,))


def v3(user: str = "venue-agent", auth_key: str = "auth-key-123") -> list[str]:
    """net-snmp's options for SNMPv3 authPriv (SHA-256, AES-128) as USER is configured."""
    return ["-v3", "-u", user, "-l", "authPriv", "-a", "SHA-256", "-A", auth_key, "-x", "AES", "-X", "priv-key-123"]


LINK_DOWN = [
    "1.3.6.1.6.3.1.1.5.3",
    "1.3.6.1.2.1.2.2.1.1.24",
    "i",
    "24",
    "1.3.6.1.2.1.2.2.1.2.24",
    "s",
    "GigabitEthernet0/0/24",
    "1.3.6.1.2.1.2.2.1.7.24",
    "i",
    "1",
    "1.3.6.1.2.1.2.2.1.8.24",
    "i",
    "2",
]


async def _send(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=20)
    return process.returncode, err.decode(errors="replace")


async def _next(queue: asyncio.Queue, timeout: float = 5.0) -> TrapRecord:
    return await asyncio.wait_for(queue.get(), timeout)


def _receiver(queue: asyncio.Queue, **options) -> TrapReceiver:
    settings = {"host": "127.0.0.1", "port": 0, "communities": (COMMUNITY,), "users": (USER,)} | options
    return TrapReceiver(TrapConfig(**settings), on_trap=queue.put_nowait)


def test_the_trap_maps_load_and_cite_their_mibs():
    mapped = trap_map()
    names = {definition.name for definition in mapped.values()}
    assert {"coldStart", "warmStart", "linkDown", "linkUp", "authenticationFailure"} <= names
    assert "ciscoEnvMonTemperatureNotification" in names


def test_v2c_trap_and_inform_become_records():
    async def run():
        queue: asyncio.Queue = asyncio.Queue()
        async with _receiver(queue) as receiver:
            target = f"127.0.0.1:{receiver.port}"
            sent = time.monotonic()
            code, err = await _send("snmptrap", "-v2c", "-c", COMMUNITY, target, "", *LINK_DOWN)
            down = await _next(queue)
            assert code == 0, err
            code, err = await _send(
                "snmpinform", "-v2c", "-c", COMMUNITY, "-r", "0", "-t", "3", target, "", "1.3.6.1.6.3.1.1.5.1"
            )
            assert code == 0, err  # snmpinform exits 0 only once the inform was acknowledged
            cold = await _next(queue)
            return down, cold, receiver.stats, time.monotonic() - sent

    down, cold, stats, _ = asyncio.run(run())
    assert (down.kind, down.version, down.name, down.mib, down.event) == (
        "trap",
        "2c",
        "linkDown",
        "IF-MIB",
        "link_down",
    )
    assert down.device == "127.0.0.1" and down.trap_oid == "1.3.6.1.6.3.1.1.5.3"
    assert down.fields == {
        "ifIndex": 24,
        "ifDescr": "GigabitEthernet0/0/24",
        "ifAdminStatus": "up",
        "ifOperStatus": "down",
    }
    assert down.varbinds["1.3.6.1.2.1.2.2.1.2.24"] == "GigabitEthernet0/0/24" and down.uptime_ticks is not None
    assert COMMUNITY not in repr(down)  # the community is a secret: the record names its index only
    assert (cold.kind, cold.name, cold.event) == ("inform", "coldStart", "restart")
    assert stats["traps"] == 1 and stats["informs"] == 1


def test_v3_authpriv_trap_and_inform_with_the_polling_users():
    async def run():
        queue: asyncio.Queue = asyncio.Queue()
        async with _receiver(queue) as receiver:
            target = f"127.0.0.1:{receiver.port}"
            code, err = await _send(
                "snmptrap", "-e", SENDER_ENGINE, *v3(), target, "", "1.3.6.1.6.3.1.1.5.4",
                "1.3.6.1.2.1.2.2.1.1.3", "i", "3",
            )  # fmt: skip
            assert code == 0, err
            up = await _next(queue)
            code, err = await _send("snmpinform", "-r", "0", "-t", "3", *v3(), target, "", "1.3.6.1.6.3.1.1.5.5")
            assert code == 0, err
            auth = await _next(queue)
            return up, auth, dict(receiver.stats)

    up, auth, stats = asyncio.run(run())
    assert (up.kind, up.version, up.security_name, up.name, up.fields) == (
        "trap",
        "3",
        "venue-agent",
        "linkUp",
        {"ifIndex": 3},
    )
    assert (auth.kind, auth.version, auth.name, auth.event) == ("inform", "3", "authenticationFailure", "auth_failure")
    assert not {"unknown_user", "wrong_digest", "decryption_error"} & set(stats), stats


def test_vendor_trap_from_its_mib_and_unknown_traps_kept():
    async def run():
        queue: asyncio.Queue = asyncio.Queue()
        async with _receiver(queue) as receiver:
            target = f"127.0.0.1:{receiver.port}"
            temperature = [
                "1.3.6.1.4.1.9.9.13.3.0.3",
                "1.3.6.1.4.1.9.9.13.1.3.1.2.1", "s", "Chassis",
                "1.3.6.1.4.1.9.9.13.1.3.1.6.1", "i", "3",
                "1.3.6.1.4.1.9.9.13.1.3.1.7.1", "i", "71",
            ]  # fmt: skip
            await _send("snmptrap", "-v2c", "-c", COMMUNITY, target, "", *temperature)
            hot = await _next(queue)
            await _send("snmptrap", "-v2c", "-c", COMMUNITY, target, "", "1.3.6.1.4.1.99999.0.1")
            odd = await _next(queue)
            return hot, odd, receiver.stats

    hot, odd, stats = asyncio.run(run())
    assert (hot.name, hot.mib, hot.event) == ("ciscoEnvMonTemperatureNotification", "CISCO-ENVMON-MIB", "environment")
    assert hot.fields == {"descr": "Chassis", "value_c": 71, "state": "critical"}
    assert (odd.name, odd.event, odd.mib) == ("1.3.6.1.4.1.99999.0.1", "unknown", None)
    assert stats["unknown_trap"] == 1


def test_refused_datagrams_are_counted_and_logged_at_a_limited_rate(caplog):
    async def run():
        queue: asyncio.Queue = asyncio.Queue()
        async with _receiver(queue, log_interval_s=3600) as receiver:
            target = f"127.0.0.1:{receiver.port}"
            for _ in range(3):
                await _send("snmptrap", "-v2c", "-c", "wrong-community", target, "", "1.3.6.1.6.3.1.1.5.1")
            await _send("snmptrap", "-e", SENDER_ENGINE, *v3(user="nobody"), target, "", "1.3.6.1.6.3.1.1.5.1")
            await _send("snmptrap", "-e", SENDER_ENGINE, *v3(auth_key="not-the-key"), target, "", "1.3.6.1.6.3.1.1.5.1")
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                for garbage in (b"\x30\x03abc", b"", bytes(range(256)) * 4):
                    sock.sendto(garbage, ("127.0.0.1", receiver.port))
            await asyncio.sleep(0.5)
            # still receiving after all that
            await _send("snmptrap", "-v2c", "-c", COMMUNITY, target, "", "1.3.6.1.6.3.1.1.5.2")
            warm = await _next(queue)
            return warm, dict(receiver.stats), queue.qsize()

    with caplog.at_level(logging.WARNING, logger="collectors.snmp.traps"):
        warm, stats, left = asyncio.run(run())
    assert warm.name == "warmStart" and left == 0
    assert stats["bad_community"] == 3 and stats["unknown_user"] == 1 and stats["wrong_digest"] == 1
    assert stats["malformed"] >= 2, stats
    lines = [r.getMessage() for r in caplog.records]
    assert sum("bad community" in line for line in lines) == 1, lines  # three refusals, one line
    assert all(COMMUNITY not in line and "wrong-community" not in line for line in lines)


def test_a_taken_port_is_a_clear_error():
    async def run():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
            taken.bind(("127.0.0.1", 0))
            receiver = TrapReceiver(TrapConfig(host="127.0.0.1", port=taken.getsockname()[1]), on_trap=print)
            with pytest.raises(OSError, match=r"SNMP traps: cannot listen on 127\.0\.0\.1"):
                await receiver.start()

    asyncio.run(run())
