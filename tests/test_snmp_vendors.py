"""Video endpoints of Chinese government venues over real SNMP (issue #15 item 7): Huawei ViewPoint/TE,
ZTE ZXV10 T-series and Kedacom (科达), each a snmpsim device written from the cited definitions
(docs/devices.md), polled by the real poller and judged by the real judge.

No public MIB of these vendors that we could read defines registration, call or peripheral state, so
their profiles read only standard MIBs: these tests assert what is read (identification, interfaces,
HOST-RESOURCES health) and that nothing else is claimed — no registration, peripheral or call finding.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest
from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

from collectors.snmp.poll import poll_device
from collectors.snmp.profile import load_profiles, select_profile
from collectors.snmp.reading import DeviceReading
from collectors.snmp.session import SnmpSession, SnmpTarget, close_engine, parse_oid
from contract.findings import Verdict
from probes.device_thresholds import DeviceThresholds
from probes.snmp import judge
from sim.snmp import OWN_RECORDINGS, SnmpSimulator

VENDOR_PROFILES = ("huawei-viewpoint", "zte-zxv10", "kedacom")
MIB_2 = parse_oid("1.3.6.1.2.1")
CODEC_ONLY_CHECKS = {"snmp.registration", "snmp.peripherals", "snmp.call_quality"}


@pytest.fixture(scope="module")
def snmpsim() -> Iterator[SnmpSimulator]:
    with SnmpSimulator(data_dirs=[OWN_RECORDINGS]) as simulator:
        yield simulator


def poll(port: int, community: str, profile: str = "auto") -> DeviceReading:
    """One real poll of the simulated device `community` through `profile`."""

    async def run() -> DeviceReading:
        engine = SnmpEngine()
        try:
            target = SnmpTarget("127.0.0.1", port, community=community, timeout_s=1.0, retries=1)
            return await poll_device(SnmpSession(engine, target), profile)
        finally:
            await close_engine(engine)

    return asyncio.run(run())


def verdicts(reading: DeviceReading, uplink: str | None = None) -> dict[str, Verdict]:
    return {f.check: f.verdict for f in judge("codec", reading, DeviceThresholds(), uplink)}


def test_huawei_te_under_the_viewpoint_arc_is_a_huawei_codec_read_by_standard_mibs(snmpsim):
    reading = poll(snmpsim.port, "huawei_viewpoint")
    assert (reading.profile, reading.kind) == ("huawei-viewpoint", "codec")
    assert reading.sys_object_id == "1.3.6.1.4.1.2011.2.14.101" and reading.sys_descr == "ViewPoint"
    [eth0] = reading.interfaces
    assert (eth0.name, eth0.oper_status, eth0.speed_mbps, eth0.counter_bits) == ("eth0", "up", 1000, 64)
    assert eth0.in_octets == 6_000_000_000  # past 2**32: the HC counter, not the wrapped ifInOctets
    assert reading.identity == {} and reading.registration == {} and reading.components == [] and not reading.calls
    checks = verdicts(reading, uplink="eth0")
    assert checks == {"snmp.reachable": Verdict.OK, "snmp.if_errors": Verdict.OK, "snmp.uplink": Verdict.OK}


def test_zte_zxv10_is_told_from_a_zxr10_on_auto_and_read_as_a_codec(snmpsim):
    auto = poll(snmpsim.port, "zte_zxv10")
    # sysObjectID is ZTE's enterprise itself, which zte-zxr10 claims too: the sysDescr decides the tie.
    assert auto.sys_object_id == "1.3.6.1.4.1.3902" and auto.profile == "zte-zxv10"
    named = poll(snmpsim.port, "zte_zxv10", profile="zte-zxv10")
    assert (named.profile, named.kind, named.sys_descr) == ("zte-zxv10", "codec", "ZXV10 T700")
    [eth0] = named.interfaces  # no ifXTable here: ifDescr, ifSpeed and the 32-bit counters
    assert (eth0.name, eth0.speed_mbps, eth0.counter_bits, eth0.in_octets) == ("eth0", 100, 32, 3_000_000_000)
    checks = verdicts(named, uplink="eth0")
    assert checks["snmp.reachable"] is Verdict.OK and checks["snmp.uplink"] is Verdict.OK
    assert not CODEC_ONLY_CHECKS & set(checks)


def test_kedacom_by_name_with_a_chinese_sysname_a_busy_cpu_and_a_dead_second_port(snmpsim):
    reading = poll(snmpsim.port, "kedacom")
    assert (reading.profile, reading.kind, reading.sys_object_id) == ("kedacom", "codec", "0.0")
    assert reading.sys_name == "四楼会议室"  # GB18030 octets, decoded
    assert max(v.value for v in reading.health["cpu_pct"]) == 97
    assert [(v.entity, v.value) for v in reading.health["mem_pct"]] == [("Physical memory", 60.0)]
    assert {i.name: i.oper_status for i in reading.interfaces} == {"eth0": "up", "eth1": "down"}
    checks = verdicts(reading, uplink="eth1")
    assert checks["snmp.cpu"] is Verdict.FAIL and checks["snmp.memory"] is Verdict.OK
    assert checks["snmp.uplink"] is Verdict.FAIL
    assert verdicts(reading, uplink="eth0")["snmp.uplink"] is Verdict.OK
    assert not CODEC_ONLY_CHECKS & set(checks)


@pytest.mark.parametrize(
    ("sys_object_id", "sys_descr", "expected"),
    [
        ("1.3.6.1.4.1.2011.2.14.6", None, "huawei-viewpoint"),  # Observium's other ViewPoint sysObjectID
        ("1.3.6.1.4.1.2011.2.14.101", "Huawei TE50 Videoconferencing Endpoint", "huawei-viewpoint"),
        ("1.3.6.1.4.1.99999", "ViewPoint", "huawei-viewpoint"),
        ("1.3.6.1.4.1.2011.2.23.291", None, "huawei-vrp"),  # switches keep their profile
        ("1.3.6.1.4.1.2011.2.239.1", None, "generic"),  # HUAWEI-MIB::ce12804 is no video product
        ("0.0", "HUAWEI CloudLink Box 300", "huawei-te"),
        ("0.0", "ZXV10 T700", "zte-zxv10"),
        ("0.0", "ZTE ZXV10 T800 V1.1", "zte-zxv10"),
        ("0.0", "ZXV10 H108L", "generic"),  # ZXV10 home gateways are not T-series endpoints
        ("1.3.6.1.4.1.3902", "ZXV10 T700", "zte-zxv10"),  # equal prefixes: the sysDescr decides
        ("1.3.6.1.4.1.3902", "ZXR10 5250 Software, Version V4.08", "zte-zxr10"),
        ("1.3.6.1.4.1.3902", None, "zte-zxr10"),  # no sysDescr: the first profile with that prefix
        ("0.0", "KEDACOM Video Conferencing Terminal", "kedacom"),
        ("0.0", "苏州科达 视频会议终端", "kedacom"),
        ("1.3.6.1.4.1.8072.3.2.10", "Linux kedacom 3.10", "net-snmp-linux"),  # sysObjectID first
    ],
)
def test_selection_of_the_vendor_profiles(sys_object_id, sys_descr, expected):
    assert select_profile(load_profiles(), sys_object_id, sys_descr).name == expected


@pytest.mark.parametrize("name", VENDOR_PROFILES)
def test_vendor_profiles_claim_no_private_object(name):
    """Nothing in these profiles reads outside mib-2 (1.3.6.1.2.1): no vendor OID is guessed."""
    profile = load_profiles()[name]
    assert profile.kind == "codec" and profile.vendor
    assert not (profile.identity or profile.registration or profile.status or profile.calls)
    read = [
        oid
        for sources in profile.health.values()
        for source in sources
        for oid in (source.value, source.used, source.free, source.size, source.names)
        if oid and oid[:1].isdigit()
    ]
    assert read and all(parse_oid(oid)[: len(MIB_2)] == MIB_2 for oid in read)


def test_probe_snmp_names_the_zxv10_profile_and_reports_no_codec_state(snmpsim):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "agent",
            "probe",
            "snmp",
            f"127.0.0.1:{snmpsim.port}",
            "--community",
            "zte_zxv10",
            "--profile",
            "zte-zxv10",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    document = json.loads(result.stdout)
    assert result.returncode == 0, result.stderr
    assert (document["device"]["profile"], document["device"]["kind"]) == ("zte-zxv10", "codec")
    # The JSON keeps its shape for codecs: registration says "unknown", there is no peripheral.
    assert document["codec"]["registration"] == {"sip": "unknown", "h323": "unknown"}
    assert document["codec"]["peripherals"] == [] and document["codec"]["calls"] == []
    assert not CODEC_ONLY_CHECKS & {finding["check"] for finding in document["findings"]}


@pytest.mark.skipif(not shutil.which("snmpwalk"), reason="net-snmp's snmpwalk is not installed")
@pytest.mark.parametrize(
    ("community", "sys_object_id"),
    [("huawei_viewpoint", ".1.3.6.1.4.1.2011.2.14.101"), ("zte_zxv10", ".1.3.6.1.4.1.3902"), ("kedacom", ".0.0")],
)
def test_the_by_hand_check_of_docs_devices_md(snmpsim, community, sys_object_id):
    """The command docs/devices.md gives a venue: the system group, numeric OIDs."""
    agent = f"127.0.0.1:{snmpsim.port}"
    walk = subprocess.run(
        ["snmpwalk", "-v2c", "-c", community, "-On", "-t", "1", "-r", "1", agent, "1.3.6.1.2.1.1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert walk.returncode == 0, walk.stderr
    assert f".1.3.6.1.2.1.1.2.0 = OID: {sys_object_id}" in walk.stdout
