"""The daemon polls configured SNMP devices into status and events: one event per change, not per poll."""

from __future__ import annotations

import time

from sim.snmp import SnmpSimulator
from tests.schema_check import assert_valid

BASE = "vc/jilin/changchun/nongan/main"


def test_daemon_polls_devices_into_status_and_events(broker, hub, start_agent):
    with SnmpSimulator() as snmp:
        extra = f"""
[snmp]
interval_s = 1
timeout_s = 0.5
retries = 0

[[snmp.devices]]
name = "codec"
host = "127.0.0.1"
port = {snmp.port}
community = "poly_in_call"

[[snmp.devices]]
name = "core-switch"
host = "127.0.0.1"
port = {snmp.port}
community_env = "VA_TEST_COMMUNITY"
uplink = "Gi1/0/2"
"""
        agent = start_agent(
            broker.url, flap_interval_s=3600, status_interval_s=1, extra=extra, env={"VA_TEST_COMMUNITY": "cisco_ios"}
        )
        status = hub.wait_for(
            lambda m: (
                m.topic == f"{BASE}/status"
                and {"snmp.peripherals@codec", "snmp.uplink@core-switch"} <= set(m.json()["checks"])
            ),
            timeout=30,
        )[-1].json()
        assert_valid("status", status)
        assert status["checks"]["snmp.peripherals@codec"]["verdict"] == "fail"
        assert status["checks"]["snmp.uplink@core-switch"]["verdict"] == "fail"
        assert status["checks"]["snmp.call_quality@codec"]["verdict"] == "warn"
        assert status["devices"]["codec"]["profile"] == "poly-endpoint"
        assert status["devices"]["core-switch"]["interfaces"] == 3
        assert status["overall"] == "fail"
        time.sleep(3)  # three more polls of each device
        assert agent.stop() == 0
    events = [e for e in hub.events() if e.get("check") == "snmp.peripherals"]
    assert len(events) == 1, "a state that does not change raises one event, not one per poll"
    assert events[0]["verdict"] == "fail" and events[0]["severity"] == "critical"
    assert events[0]["data"]["subject"] == "codec" and "camera Main" in events[0]["message"]["en"]
    for event in hub.events():
        assert_valid("event", event)
