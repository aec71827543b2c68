"""Traps end to end: net-snmp's `snmptrap` → the daemon's receiver → one event on a real mosquitto,
and an immediate poll of the device that sent it (its period is an hour here, so only the trap can
have caused the second read)."""

from __future__ import annotations

import shutil
import socket
import subprocess
from datetime import datetime

import pytest

from sim.snmp import SnmpSimulator
from tests.schema_check import assert_valid

pytestmark = pytest.mark.skipif(shutil.which("snmptrap") is None, reason="net-snmp's snmptrap is not installed")

BASE = "vc/jilin/changchun/nongan/main"
LINK_DOWN = [
    "1.3.6.1.6.3.1.1.5.3",
    "1.3.6.1.2.1.2.2.1.1.10102",
    "i",
    "10102",
    "1.3.6.1.2.1.2.2.1.2.10102",
    "s",
    "Gi1/0/2",
    "1.3.6.1.2.1.2.2.1.8.10102",
    "i",
    "2",
]


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _trap(port: int, community: str, *varbinds: str) -> None:
    subprocess.run(
        ["snmptrap", "-v2c", "-c", community, f"127.0.0.1:{port}", "", *varbinds],
        check=True,
        timeout=20,
        capture_output=True,
    )


def _read_at(message) -> datetime | None:
    device = message.json()["devices"].get("core-switch") or {}
    return datetime.fromisoformat(device["read_at"]) if device.get("read_at") else None


def test_a_trap_becomes_an_event_and_polls_its_device_at_once(broker, hub, start_agent):
    trap_port = _free_udp_port()
    with SnmpSimulator() as snmp:
        extra = f"""
[snmp]
interval_s = 3600
timeout_s = 0.5
retries = 0

[snmp.traps]
enabled = true
listen = "127.0.0.1"
port = {trap_port}

[[snmp.devices]]
name = "core-switch"
host = "127.0.0.1"
port = {snmp.port}
community = "cisco_ios"
uplink = "Gi1/0/2"
"""
        agent = start_agent(broker.url, flap_interval_s=3600, status_interval_s=1, extra=extra)
        first = hub.wait_for(
            lambda m: (
                m.topic == f"{BASE}/status"
                and _read_at(m) is not None
                and m.json()["checks"].get("snmp.traps", {}).get("verdict") == "ok"
            ),
            timeout=30,
        )[-1]
        first_read = _read_at(first)

        _trap(trap_port, "not-a-community", *LINK_DOWN)  # refused: no event, the receiver keeps going
        _trap(trap_port, "cisco_ios", *LINK_DOWN)
        event = hub.wait_for(
            lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "snmp.trap.link_down", timeout=30
        )[-1].json()
        assert_valid("event", event)
        assert event["check"] == "snmp.trap" and event["verdict"] == "fail" and event["severity"] == "critical"
        assert event["data"]["subject"] == "core-switch"
        assert "Gi1/0/2" in event["message"]["en"] and "Gi1/0/2" in event["message"]["zh"]
        assert event["message"]["zh"].startswith("core-switch 报告端口")

        later = hub.wait_for(
            lambda m: m.topic == f"{BASE}/status" and (_read_at(m) or first_read) > first_read, timeout=30
        )[-1]
        assert later.json()["checks"]["snmp.traps"]["verdict"] == "ok"
        assert agent.stop() == 0
    downs = [e for e in hub.events() if e["code"] == "snmp.trap.link_down"]
    assert len(downs) == 1, "the refused trap raised nothing, the accepted one exactly one event"
    assert "not-a-community" not in agent.log()
