"""SNMP against real agents: snmpsim serving real-device and MIB-written recordings, Debian's snmpd
with an SNMPv3 authPriv user, a silent device, an erroring device and a UDP socket answering garbage."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

from collectors.snmp.poll import poll_device
from collectors.snmp.profile import ProfileError, load_profiles, select_profile
from collectors.snmp.reading import DeviceReading
from collectors.snmp.session import SnmpSession, SnmpTarget
from contract.findings import Verdict
from probes.device_thresholds import DeviceThresholds
from probes.snmp import judge
from sim.ports import free_port
from sim.snmp import SHARED_RECORDINGS, SnmpSimulator
from tests.peers.snmpd import AUTH_KEY, PRIV_KEY, USER, Snmpd

needs_shared = pytest.mark.skipif(
    not SHARED_RECORDINGS.is_dir(), reason="../shared/fixtures/snmp (real-device recordings) is not here"
)
needs_snmpd = pytest.mark.skipif(
    not (shutil.which("snmpd") or Path("/usr/sbin/snmpd").exists()), reason="Debian's snmpd is not installed"
)


@pytest.fixture(scope="module")
def snmpsim():
    with SnmpSimulator() as simulator:
        yield simulator


def poll(port: int, community: str = "public", profile: str = "auto", **target: object) -> DeviceReading:
    async def run() -> DeviceReading:
        engine = SnmpEngine()
        try:
            options = {"timeout_s": 1.0, "retries": 1} | target
            return await poll_device(
                SnmpSession(engine, SnmpTarget("127.0.0.1", port, community=community, **options)), profile
            )
        finally:
            engine.close_dispatcher()

    return asyncio.run(run())


def verdicts(reading: DeviceReading, uplink: str | None = None) -> dict[str, Verdict]:
    return {f.check: f.verdict for f in judge("dev", reading, DeviceThresholds(), uplink)}


@needs_shared
def test_real_poly_studio_x50(snmpsim):
    reading = poll(snmpsim.port, "polycomLens_studioxc50")
    assert reading.profile == "poly-endpoint" and reading.kind == "codec"
    assert reading.sys_object_id == "1.3.6.1.4.1.2684"  # not under 13885: selection copes
    assert reading.identity["model"] == "StudioX50"
    assert reading.identity["build_date"].startswith("2022-03-04")  # text, although the MIB says DateAndTime
    assert reading.registration == {"sip": "failed", "h323": "disabled"}  # as recorded
    kinds = {(c.kind, c.name): c.status for c in reading.components}
    assert kinds[("camera", "Main")] == "ok" and kinds[("nic", "eth0")] == "ok"
    assert [c.kind for c in reading.components].count("microphone") == 2
    assert {i.name for i in reading.interfaces} >= {"eth0", "lo", "wlan0"}
    checks = verdicts(reading)
    assert checks["snmp.registration"] is Verdict.FAIL and checks["snmp.peripherals"] is Verdict.OK


@needs_shared
def test_real_huawei_s5720(snmpsim):
    reading = poll(snmpsim.port, "vrp_5720")
    assert reading.profile == "huawei-vrp"
    assert "\r" not in reading.sys_descr and reading.sys_descr.startswith("S5720-56C-PWR-EI-AC Huawei")
    # Most entity rows read 0 and are skipped; the MPU board is the one that measures.
    assert [(v.entity, v.value) for v in reading.health["cpu_pct"]] == [("MPU Board 0", 44.0)]
    assert reading.health["temperature_c"][0].value == 42.0
    assert len(reading.interfaces) == 65  # counted from the rows: the recording has no ifNumber
    up = next(i for i in reading.interfaces if i.oper_status == "up" and i.name.startswith("GigabitEthernet"))
    down = next(i for i in reading.interfaces if i.oper_status == "down" and i.name.startswith("GigabitEthernet"))
    assert verdicts(reading, up.name)["snmp.uplink"] is Verdict.OK
    assert verdicts(reading, down.name)["snmp.uplink"] is Verdict.FAIL
    assert verdicts(reading, "NoSuchPort9/9")["snmp.uplink"] is Verdict.UNKNOWN


def test_cisco_ios_memory_from_used_and_free_and_sensor_state(snmpsim):
    reading = poll(snmpsim.port, "cisco_ios")
    assert reading.profile == "cisco-ios"
    assert {v.entity: v.value for v in reading.health["mem_pct"]} == {"Processor": 30.0, "I/O": 90.0}
    assert reading.health["cpu_pct"][0].value == 12.0
    assert reading.components[0].kind == "temperature-sensor" and reading.components[0].status == "ok"
    checks = verdicts(reading, "Gi1/0/2")
    assert checks["snmp.memory"] is Verdict.WARN and checks["snmp.uplink"] is Verdict.FAIL
    assert checks["snmp.sensors"] is Verdict.OK
    uplink = next(i for i in reading.interfaces if i.name == "Gi1/0/1")
    assert uplink.counter_bits == 64 and uplink.in_octets == 9_000_000_000 and uplink.speed_mbps == 1000
    assert verdicts(reading, "uplink to county core")["snmp.uplink"] is Verdict.OK  # by alias


def test_h3c_sentinels_ignored_and_hex_sysdescr_folded(snmpsim):
    reading = poll(snmpsim.port, "h3c_comware")
    assert reading.profile == "h3c-comware" and reading.sys_descr.startswith("H3C Comware Platform Software")
    assert "\n" not in reading.sys_descr
    assert {k: [(v.entity, v.value) for v in vs] for k, vs in reading.health.items()} == {
        "cpu_pct": [("Board 1", 23.0)],
        "mem_pct": [("Board 1", 61.0)],
        "temperature_c": [("Board 1", 71.0)],
    }
    assert verdicts(reading)["snmp.temperature"] is Verdict.WARN


def test_linux_host_resources(snmpsim):
    reading = poll(snmpsim.port, "linux_host")
    assert reading.profile == "net-snmp-linux" and reading.kind == "host"
    assert {v.entity: v.value for v in reading.health["mem_pct"]} == {"Physical memory": 25.0}  # RAM row only
    assert max(v.value for v in reading.health["cpu_pct"]) == 93.0
    assert verdicts(reading)["snmp.cpu"] is Verdict.WARN


@pytest.mark.parametrize(
    ("community", "profile", "kind"),
    [
        ("cisco_roomos", "cisco-roomos", "codec"),
        ("zte_zxr10", "zte-zxr10", "switch"),
        ("huawei_te", "huawei-te", "codec"),
    ],
)
def test_identified_by_sysobjectid_or_sysdescr(snmpsim, community, profile, kind):
    reading = poll(snmpsim.port, community)
    assert (reading.profile, reading.kind) == (profile, kind)
    assert reading.interfaces and verdicts(reading)["snmp.reachable"] is Verdict.OK
    assert "snmp.registration" not in verdicts(reading)  # SNMP cannot tell; SSH will


def test_poly_in_call_with_failed_camera(snmpsim):
    reading = poll(snmpsim.port, "poly_in_call")
    [call] = reading.calls
    assert call.far_site == "吉林省政府主会场 MCU" and call.loss_rx_pct == 3 and call.jitter_rx_ms == 12
    checks = verdicts(reading)
    assert checks["snmp.peripherals"] is Verdict.FAIL  # camera Main failed(3), hardware overall failed
    assert checks["snmp.call_quality"] is Verdict.WARN  # 3 % loss: over 1 %, under 5 %
    assert checks["snmp.registration"] is Verdict.OK


def test_error_status_device_gives_a_clear_finding(snmpsim):
    reading = poll(snmpsim.port, "error_device")
    assert not reading.reachable and reading.error_kind == "error-status" and "genErr" in reading.error
    [finding] = judge("codec", reading, DeviceThresholds())
    assert finding.verdict is Verdict.FAIL and "genErr" in finding.message.en and finding.message.zh


def test_silent_device_times_out_cleanly():
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))  # bound, so no ICMP port-unreachable: it just never answers
    try:
        reading = poll(silent.getsockname()[1], timeout_s=0.3, retries=1)
    finally:
        silent.close()
    assert not reading.reachable and reading.error_kind == "timeout"
    [finding] = judge("switch", reading, DeviceThresholds())
    assert finding.code == "snmp.reachable.timeout" and finding.verdict is Verdict.FAIL


def test_garbage_answers_are_a_clear_failure_not_a_crash():
    garbage = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    garbage.bind(("127.0.0.1", 0))
    garbage.settimeout(0.1)
    stop = threading.Event()

    def answer_garbage() -> None:
        while not stop.is_set():
            try:
                _, peer = garbage.recvfrom(65535)
            except TimeoutError:
                continue
            garbage.sendto(b"\x30\x03\x02\x01\xff this is not SNMP \x00\xff", peer)

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    try:
        reading = poll(garbage.getsockname()[1], timeout_s=0.3, retries=1)
    finally:
        stop.set()
        thread.join(2)
        garbage.close()
    assert not reading.reachable
    assert judge("codec", reading, DeviceThresholds())[0].verdict is Verdict.FAIL


@needs_snmpd
def test_snmpv3_authpriv_against_net_snmp(tmp_path):
    agent = Snmpd(tmp_path / "snmpd").start()
    try:
        good = poll(
            agent.port,
            version="3",
            user=USER,
            auth_protocol="sha256",
            auth_key=AUTH_KEY,
            priv_protocol="aes128",
            priv_key=PRIV_KEY,
            timeout_s=1.0,
            retries=2,
        )
        wrong = poll(
            agent.port,
            version="3",
            user=USER,
            auth_protocol="sha256",
            auth_key="not-the-key",
            priv_protocol="aes128",
            priv_key=PRIV_KEY,
            timeout_s=0.5,
            retries=0,
        )
    finally:
        agent.stop()
    assert good.reachable and good.error is None and good.profile == "net-snmp-linux"
    assert good.interfaces and good.health["mem_pct"]
    assert not wrong.reachable and wrong.error_kind == "auth"
    assert judge("pc", wrong, DeviceThresholds())[0].code == "snmp.reachable.auth"


def test_every_shipped_profile_loads_and_selection_prefers_the_longest_prefix():
    profiles = load_profiles()
    assert {
        "generic",
        "huawei-vrp",
        "h3c-comware",
        "cisco-ios",
        "poly-endpoint",
        "cisco-roomos",
        "zte-zxr10",
        "huawei-te",
        "net-snmp-linux",
    } <= set(profiles)
    assert select_profile(profiles, "1.3.6.1.4.1.2011.2.23.291", None).name == "huawei-vrp"
    assert select_profile(profiles, "1.3.6.1.4.1.99999", "Huawei Versatile Routing Platform").name == "huawei-vrp"
    assert select_profile(profiles, "1.3.6.1.4.1.99999", "something else").name == "generic"
    assert select_profile(profiles, "not an oid", None).name == "generic"


def test_a_broken_profile_file_is_named(tmp_path):
    (tmp_path / "generic.yaml").write_text("name: generic\nhealth:\n  cpu_pct:\n    - names: x\n")
    with pytest.raises(ProfileError, match=r"generic.yaml: health.cpu_pct.0: .*either `value`"):
        load_profiles.__wrapped__(tmp_path)
    (tmp_path / "generic.yaml").write_text("name: generic\ninclude: [nowhere]\n")
    with pytest.raises(ProfileError, match="unknown profile 'nowhere'"):
        load_profiles.__wrapped__(tmp_path)


def test_probe_snmp_cli_json_keys_and_exit_codes(snmpsim):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agent", "probe", "snmp", f"127.0.0.1:{snmpsim.port}", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    result = run("--community", "poly_in_call", "--json")
    document = json.loads(result.stdout)
    assert result.returncode == 2  # CRITICAL: a failed camera
    assert document["device"]["profile"] == "poly-endpoint" and document["device"]["sys_object_id"]
    assert document["device"]["sys_descr"] == "Videoconferencing Device"
    assert set(document["health"]) == {"cpu_pct", "mem_pct", "temperature_c"}
    assert set(document["interfaces"][0]) >= {
        "index",
        "name",
        "admin_status",
        "oper_status",
        "speed_mbps",
        "in_errors",
        "out_errors",
    }
    assert document["codec"]["registration"] == {"sip": "registered", "h323": "registered"}
    assert {"kind": "camera", "name": "Main", "status": "failed"} in document["codec"]["peripherals"]
    finding = document["findings"][0]
    assert set(finding) >= {"check", "verdict", "value", "threshold", "article", "message"}
    assert run("--community", "zte_zxr10", "--json").returncode == 0
    assert run("--community", "h3c_comware", "--json").returncode == 1  # WARNING: 71 °C
    table = run("--community", "zte_zxr10")
    assert "zte-zxr10" in table.stdout and "OK (exit 0)" in table.stdout
    silent_port = free_port(socket.SOCK_DGRAM)
    silent = subprocess.run(
        [
            sys.executable,
            "-m",
            "agent",
            "probe",
            "snmp",
            f"127.0.0.1:{silent_port}",
            "--timeout",
            "0.3",
            "--retries",
            "0",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert silent.returncode == 2 and json.loads(silent.stdout)["findings"][0]["check"] == "snmp.reachable"
    bad = run("--profile", "no-such-profile")
    assert bad.returncode == 3 and "'no-such-profile' is not one of 'auto'" in bad.stderr
    missing_env = run("--v3-user", "u", "--auth-key-env", "VA_SURELY_UNSET_VAR")
    assert missing_env.returncode == 3 and "VA_SURELY_UNSET_VAR is not set" in missing_env.stderr
    assert "VA_SURELY_UNSET_VAR" not in os.environ


class DuplicatingRelay:
    """A UDP relay on loopback in front of a real SNMP agent that sends every answer `copies` times,
    as a device (or a looping network path) that answers each request many times does."""

    def __init__(self, target_port: int, copies: int = 100):
        self.target = ("127.0.0.1", target_port)
        self.copies = copies
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind(("127.0.0.1", 0))
        for sock in (self.front, self.back):
            sock.settimeout(0.1)
        self.port = self.front.getsockname()[1]
        self.client: tuple[str, int] | None = None
        self.answers = 0
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._up, daemon=True),
            threading.Thread(target=self._down, daemon=True),
        ]

    def _up(self) -> None:
        while not self._stop.is_set():
            try:
                data, self.client = self.front.recvfrom(65535)
            except TimeoutError:
                continue
            self.back.sendto(data, self.target)

    def _down(self) -> None:
        while not self._stop.is_set():
            try:
                data, _ = self.back.recvfrom(65535)
            except TimeoutError:
                continue
            self.answers += 1
            for _ in range(self.copies):
                if self.client is not None:
                    self.front.sendto(data, self.client)

    def __enter__(self) -> DuplicatingRelay:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self.front.close()
        self.back.close()


def test_a_device_answering_each_request_100_times_is_read_as_usual_by_probe_snmp(snmpsim):
    """Used to end in a CarrierError traceback: copies still in flight met the closed engine."""

    def probe(port: int, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agent", "probe", "snmp", f"127.0.0.1:{port}", "--community", "cisco_ios", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    direct = probe(snmpsim.port, "--json")
    with DuplicatingRelay(snmpsim.port, copies=100) as relay:
        for args in (("--json",), ()):
            result = probe(relay.port, *args)
            assert "Traceback" not in result.stderr and "CarrierError" not in result.stderr, result.stderr[-3000:]
            assert result.returncode == direct.returncode, (result.stdout[-1000:], result.stderr[-1000:])
        assert relay.answers >= 2 * json.loads(direct.stdout)["requests"]  # both runs went through the relay


VENUE = "vc/jilin/changchun/nongan/main"


def test_the_daemon_monitor_survives_a_device_answering_each_request_100_times(snmpsim, broker, hub, start_agent):
    with DuplicatingRelay(snmpsim.port, copies=100) as relay:
        extra = f"""
[snmp]
interval_s = 1
timeout_s = 3
retries = 1

[[snmp.devices]]
name = "core-switch"
host = "127.0.0.1"
port = {relay.port}
community = "cisco_ios"
"""
        agent = start_agent(broker.url, flap_interval_s=3600, status_interval_s=1, extra=extra)
        first = hub.wait_for(
            lambda m: m.topic == f"{VENUE}/status" and "core-switch" in m.json()["devices"],
            timeout=60,
        )[-1].json()
        answers_before = relay.answers
        time.sleep(4)  # several more polls, each answer sent 100 times
        assert relay.answers > answers_before
        assert agent.stop() == 0
    last = [m.json() for m in hub.messages if m.topic == f"{VENUE}/status"][-1]
    for status in (first, last):
        device = status["devices"]["core-switch"]
        assert device["reachable"] is True and device["profile"] == "cisco-ios" and device["interfaces"] == 3
    assert (
        last["tasks"]["snmp:core-switch"]["state"] == "running" and last["tasks"]["snmp:core-switch"]["restarts"] == 0
    )
    assert last["checks"]["snmp.reachable@core-switch"]["verdict"] == "ok"
    log = agent.log()
    assert "Traceback" not in log and "CarrierError" not in log, log[-3000:]
