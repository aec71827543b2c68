"""Real netmiko over real SSH to simulated devices on loopback (asyncssh): the codec's xAPI and three
vendors' switch CLIs, read and judged; faults each give a clear finding, no crash, no leak."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from netmiko import ConnectHandler
from netmiko.exceptions import ReadTimeout

from collectors.ssh.poll import SshPool
from collectors.ssh.session import SshSession, SshTarget
from probes.device_thresholds import SshThresholds
from probes.ssh import judge
from sim.ssh_devices import SshDeviceSimulator
from sim.ssh_vendor_output import CodecState, Port

PASSWORD = "venue-test"
SWITCHES = {"huawei": "GigabitEthernet0/0/24", "hp_comware": "GE1/0/24", "cisco_ios": "Gi1/0/24"}


def target(sim: SshDeviceSimulator, known_hosts: Path, **options) -> SshTarget:
    values = {"password": PASSWORD, "connect_timeout_s": 5.0, "command_timeout_s": 2.0} | options
    return SshTarget("dev", "127.0.0.1", sim.port, sim.kind, "admin", known_hosts=known_hosts, **values)


def poll(*targets: SshTarget):
    """One poll of each target through the pool; sessions and pool closed afterwards."""

    async def run():
        pool = SshPool(4)
        sessions = [SshSession(t) for t in targets]
        try:
            return await asyncio.gather(*(pool.poll(s) for s in sessions))
        finally:
            for session in sessions:
                await asyncio.to_thread(session.close)
            pool.close()

    return asyncio.run(run())


def checks(findings) -> dict[str, str]:
    return {f.check: f.verdict.value for f in findings}


@pytest.fixture
def known_hosts(tmp_path) -> Path:
    return tmp_path / "known_hosts"


def trusted(sim: SshDeviceSimulator, known_hosts: Path) -> Path:
    known_hosts.write_text(sim.known_hosts_line())
    return known_hosts


def test_codec_xapi_read_and_judged(known_hosts):
    with SshDeviceSimulator("cisco_tp") as sim:
        [reading] = poll(target(sim, trusted(sim, known_hosts)))
    assert reading.reachable, reading.error
    codec = reading.codec
    assert codec.system_state == "InCall" and codec.active_calls == 1
    assert codec.calls[0].remote == "8001@mcu.jl.gov.cn" and codec.calls[0].protocol == "sip"
    assert codec.calls[0].duration_s == 1260
    assert {(m.direction, m.type) for m in codec.media} >= {("Incoming", "Video"), ("Outgoing", "Audio")}
    assert codec.video_inputs[0].connected is True and codec.video_inputs[0].signal == "OK"
    assert codec.registration == {"sip": "Registered", "h323": "Inactive"}
    verdicts = checks(judge(reading, SshThresholds()))
    assert set(verdicts.values()) == {"ok"}, verdicts
    assert {"ssh.registration", "ssh.video_input", "ssh.media", "ssh.diagnostics", "ssh.temperature"} <= set(verdicts)


def test_netmiko_cisco_tp_default_pattern_times_out_against_the_simulator(known_hosts):
    """The trap the issue names: proves the simulator is realistic (CR LF and the OK trailer)."""
    with SshDeviceSimulator("cisco_tp") as sim:
        connection = ConnectHandler(
            device_type="cisco_tp",
            host="127.0.0.1",
            port=sim.port,
            username="admin",
            password=PASSWORD,
            allow_agent=False,
            use_keys=False,
            ssh_strict=False,
        )
        try:
            with pytest.raises(ReadTimeout):
                connection.send_command("xStatus SystemUnit", read_timeout=2)
        finally:
            connection.disconnect()


@pytest.mark.parametrize("kind", sorted(SWITCHES))
def test_switch_cli_read_through_ntc_templates(kind, known_hosts):
    with SshDeviceSimulator(kind) as sim:
        sim.gear.ports[1].up = False
        sim.gear.cpu_pct = 91
        [reading] = poll(target(sim, trusted(sim, known_hosts)))
    assert reading.reachable and not reading.rejected and not reading.unparsed, reading
    by_name = {i.name: i for i in reading.interfaces}
    ports = [p.name for p in sim.gear.ports]
    assert by_name[ports[0]].oper_status == "up" and by_name[ports[1]].oper_status == "down"
    assert reading.cpu_pct == 91
    verdicts = checks(judge(reading, SshThresholds(), uplink=SWITCHES[kind]))
    assert verdicts["ssh.uplink"] == "ok" and verdicts["ssh.cpu"] == "warn"
    down = checks(judge(reading, SshThresholds(), uplink=ports[1]))
    assert down["ssh.uplink"] == "fail"


def test_paging_is_turned_off_by_the_session(known_hosts):
    """A 40-port switch pages its output until `screen-length 0 temporary`; every port comes through."""
    with SshDeviceSimulator("huawei") as sim:
        sim.gear.ports = [Port(f"GigabitEthernet0/0/{n}") for n in range(1, 41)]
        [reading] = poll(target(sim, trusted(sim, known_hosts)))
        assert "screen-length 0 temporary" in sim.commands_seen
    assert len(reading.interfaces) == 40


@pytest.fixture(scope="module")
def live_codec(tmp_path_factory):
    """One simulated codec and one kept-open session (as the daemon keeps it) for many states."""
    known_hosts = tmp_path_factory.mktemp("codec") / "known_hosts"
    with SshDeviceSimulator("cisco_tp") as sim:
        session = SshSession(target(sim, trusted(sim, known_hosts)))
        pool = SshPool(1)

        def read():
            return asyncio.run(pool.poll(session))

        yield sim, read
        assert session.opened == 1, "the session was reopened between polls"
        session.close()
        pool.close()


@pytest.mark.parametrize(
    ("fault", "codec_change", "check", "verdict"),
    [
        ("camera without signal", {"camera_signal": "Unknown"}, "ssh.video_input", "fail"),
        ("camera unplugged", {"camera_connected": False}, "ssh.video_input", "fail"),
        ("3 % loss", {"loss_pct": 3.0}, "ssh.media", "warn"),
        ("8 % loss", {"loss_pct": 8.0}, "ssh.media", "fail"),
        ("jitter", {"jitter_ms": 60}, "ssh.media", "fail"),
        ("SIP registration failed", {"sip_status": "Failed"}, "ssh.registration", "fail"),
        (
            "diagnostics error",
            {"diagnostics": [("Error", "SIPProfileRegistration", "SIP registration failed")]},
            "ssh.diagnostics",
            "fail",
        ),
        (
            "diagnostics warning",
            {"diagnostics": [("Warning", "CameraPairing", "camera firmware old")]},
            "ssh.diagnostics",
            "warn",
        ),
        ("overheating", {"temperature_status": "Critical"}, "ssh.temperature", "fail"),
    ],
)
def test_codec_faults_each_turn_their_check(live_codec, fault, codec_change, check, verdict):
    sim, read = live_codec
    sim.codec = CodecState(**codec_change)
    reading = read()
    verdicts = checks(judge(reading, SshThresholds()))
    assert verdicts[check] == verdict, (fault, verdicts)
    others = {name: v for name, v in verdicts.items() if name != check}
    assert set(others.values()) == {"ok"}, (fault, others)


def test_video_input_without_signal_matters_only_in_a_call(live_codec):
    sim, read = live_codec
    sim.codec = CodecState(in_call=False, camera_connected=False)
    reading = read()
    verdicts = checks(judge(reading, SshThresholds()))
    assert verdicts["ssh.video_input"] == "ok" and "ssh.media" not in verdicts


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("kind", ["cisco_tp", "huawei"])
def test_connection_faults_give_clear_findings_and_leak_nothing(kind, known_hosts, tmp_path):
    with SshDeviceSimulator(kind) as sim:
        trusted(sim, known_hosts)
        poll(target(sim, known_hosts))  # warm up imports and caches before counting
        threads, fds = threading.active_count(), _open_fds()
        results = {}
        [results["wrong password"]] = poll(target(sim, known_hosts, password="wrong"))
        sim.faults.stall = True
        [results["stops mid-output"]] = poll(target(sim, known_hosts))
        sim.faults.stall = False
        sim.faults.drop = True
        [results["drops the connection"]] = poll(target(sim, known_hosts))
        sim.faults.drop = False
        sim.faults.rejected.add("xStatus Call" if kind == "cisco_tp" else "display cpu-usage")
        [results["rejects a command"]] = poll(target(sim, known_hosts))
        sim.faults.rejected.clear()
        [results["unknown host key"]] = poll(target(sim, tmp_path / "empty_known_hosts"))
        sim.new_host_key()
        [results["changed host key"]] = poll(target(sim, known_hosts))
        [results["changed key, TOFU on"]] = poll(target(sim, known_hosts, trust_on_first_use=True))
    with SshDeviceSimulator(kind) as fresh:
        pass
    [results["nothing listening"]] = poll(target(fresh, known_hosts))

    expected = {
        "wrong password": ("ssh.reachable", "ssh.reachable.auth"),
        "stops mid-output": ("ssh.reachable", "ssh.reachable.timeout"),
        "drops the connection": ("ssh.reachable", "ssh.reachable.closed"),
        "rejects a command": ("ssh.commands", "ssh.commands.rejected"),
        "unknown host key": ("ssh.reachable", "ssh.reachable.hostkey_unknown"),
        "changed host key": ("ssh.reachable", "ssh.reachable.hostkey_changed"),
        "changed key, TOFU on": ("ssh.reachable", "ssh.reachable.hostkey_changed"),
        "nothing listening": ("ssh.reachable", "ssh.reachable.connect"),
    }
    for fault, (check, code) in expected.items():
        findings = {f.check: f for f in judge(results[fault], SshThresholds())}
        assert findings[check].verdict.value == "fail" and findings[check].code == code, (fault, findings[check])
        assert findings[check].message.en and findings[check].message.zh
    # A closed session's transport thread ends a moment after close() returns; a leaked one never does.
    deadline = time.monotonic() + 10
    while (threading.active_count() > threads or _open_fds() > fds + 1) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert threading.active_count() <= threads, "worker or transport threads left behind"
    assert _open_fds() <= fds + 1, "sockets left open"


def test_trust_on_first_use_records_the_key(known_hosts):
    with SshDeviceSimulator("cisco_ios") as sim:
        [first] = poll(target(sim, known_hosts, trust_on_first_use=True))
        assert first.reachable and f"[127.0.0.1]:{sim.port}" in known_hosts.read_text()
        [strict] = poll(target(sim, known_hosts))  # now known: strict checking passes
        assert strict.reachable


def test_probe_ssh_cli_json(known_hosts):
    with SshDeviceSimulator("cisco_tp") as sim:
        sim.codec.loss_pct = 8.0
        trusted(sim, known_hosts)
        command = ["probe", "ssh", f"127.0.0.1:{sim.port}", "--device-type", "cisco_tp", "--username", "admin"]
        options = ["--password-env", "VA_SSH_PW", "--known-hosts", str(known_hosts), "--json"]
        done = subprocess.run(
            [sys.executable, "-m", "agent.cli.main", *command, *options],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "VA_SSH_PW": PASSWORD},
        )
    assert done.returncode == 2, done.stderr
    report = json.loads(done.stdout)
    assert report["device"]["device_type"] == "cisco_tp" and report["interfaces"] == []
    codec = report["codec"]
    assert codec["system_state"] == "InCall"
    assert {"status", "remote", "duration_s", "protocol"} <= set(codec["calls"][0])
    assert {"channel", "direction", "loss_pct", "jitter_ms"} <= set(codec["media"][0])
    assert {"connector", "connected", "signal"} <= set(codec["video_inputs"][0])
    assert set(codec["registration"]) == {"sip", "h323"} and codec["diagnostics"] == []
    media = next(f for f in report["findings"] if f["check"] == "ssh.media")
    assert media["verdict"] == "fail" and media["article"].startswith("第十三条")
