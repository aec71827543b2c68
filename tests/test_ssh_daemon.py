"""The daemon reads configured SSH devices into status and events, keeps their sessions open, and
reports a codec's call in the device summary (where the Art. 3/20 conference record reads it)."""

from __future__ import annotations

from sim.ssh_devices import SshDeviceSimulator
from tests.schema_check import assert_valid

BASE = "vc/jilin/changchun/nongan/main"


def test_daemon_polls_ssh_devices(broker, hub, start_agent, tmp_path):
    known_hosts = tmp_path / "known_hosts"
    with SshDeviceSimulator("cisco_tp") as codec, SshDeviceSimulator("huawei") as switch:
        known_hosts.write_text(codec.known_hosts_line() + switch.known_hosts_line())
        extra = f"""
[ssh]
interval_s = 5
command_timeout_s = 3
known_hosts = "{known_hosts}"

[[ssh.devices]]
name = "sx80"
host = "127.0.0.1"
port = {codec.port}
device_type = "cisco_tp"
username = "admin"
password_env = "VA_SSH_PW"

[[ssh.devices]]
name = "core-switch"
host = "127.0.0.1"
port = {switch.port}
device_type = "huawei"
username = "admin"
password_env = "VA_SSH_PW"
uplink = "GigabitEthernet0/0/24"
"""
        agent = start_agent(
            broker.url, flap_interval_s=3600, status_interval_s=1, extra=extra, env={"VA_SSH_PW": codec.password}
        )
        status = hub.wait_for(
            lambda m: (
                m.topic == f"{BASE}/status" and {"ssh.media@sx80", "ssh.uplink@core-switch"} <= set(m.json()["checks"])
            ),
            timeout=30,
        )[-1].json()
        assert_valid("status", status)
        sx80 = status["devices"]["sx80"]
        assert sx80["kind"] == "codec" and sx80["calls"] == 1 and sx80["registration"]["sip"] == "Registered"
        assert sx80["call"][0]["remote"] == "8001@mcu.jl.gov.cn" and sx80["call"][0]["duration_s"] == 1260
        assert status["devices"]["core-switch"]["interfaces_up"] == 3
        assert status["checks"]["ssh.uplink@core-switch"]["verdict"] == "ok"

        codec.codec.camera_signal = "Unknown"  # the camera's cable is pulled mid-conference
        event = hub.wait_for(
            lambda m: m.topic == f"{BASE}/events" and m.json().get("check") == "ssh.video_input", timeout=20
        )[0].json()
        assert event["verdict"] == "fail" and event["data"]["subject"] == "sx80"
        assert "第十七条" in status["checks"]["ssh.video_input@sx80"]["article"]

        codec.codec.in_call = False  # the MCU hangs up: the status keeps how the call went
        ended = hub.wait_for(
            lambda m: (
                m.topic == f"{BASE}/status"
                and ((m.json()["devices"].get("sx80") or {}).get("last_call") or {}).get("ended_at")
            ),
            timeout=20,
        )[-1].json()["devices"]["sx80"]
        assert ended["calls"] == 0 and ended["last_call"]["remote"] == "8001@mcu.jl.gov.cn"
        assert ended["last_call"]["status"] == "Ended" and ended["last_call"]["duration_s"] >= 1260

        switch.stop()  # the switch loses power
        lost = hub.wait_for(
            lambda m: (
                m.topic == f"{BASE}/events"
                and m.json().get("check") == "ssh.reachable"
                and m.json()["data"]["subject"] == "core-switch"
            ),
            timeout=30,
        )[0].json()
        assert lost["verdict"] == "fail" and lost["severity"] == "critical"
        assert agent.stop() == 0
    assert codec.sessions == 1, "the codec's session is kept open between polls"
    assert "Traceback" not in agent.log()
    for event in hub.events():
        assert_valid("event", event)
