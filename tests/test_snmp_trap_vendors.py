"""The vendors' trap maps (collectors/snmp/trap_maps/poly.yaml, huawei.yaml, h3c.yaml) against
net-snmp's own senders: real SNMPv2c traps from `snmptrap` and informs from `snmpinform`, carrying
the varbinds each public MIB's OBJECTS clause names, to the real receiver on a loopback port; each
becomes a record with the MIB's notification name, the event kind probes/snmp_traps.py judges and
the fields decoded (enumerations as their MIB words), and the event's message says what happened.
Also: every OID in the maps is mapped once, and each vendor file names the MIBs, revisions and the
place it read them."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections import Counter

import pytest
import yaml

from collectors.snmp.trap_map import TRAP_MAP_DIR, trap_map
from collectors.snmp.traps import TrapConfig, TrapReceiver, TrapRecord
from contract.findings import Verdict
from probes.snmp_traps import judge_trap

needs_snmptrap = pytest.mark.skipif(
    shutil.which("snmptrap") is None or shutil.which("snmpinform") is None,
    reason="net-snmp's snmptrap/snmpinform are not installed",
)

COMMUNITY = "venue-vendor-traps"
VENDOR_FILES = ("poly.yaml", "huawei.yaml", "h3c.yaml")

# POLYCOM-ENDPOINT-MIB notificationVariable scalars (…13885.101.1.99.N.0)
POLY_VAR = "1.3.6.1.4.1.13885.101.1.99"
# HUAWEI-ENTITY-TRAP-MIB hwEntityTrapObject, HUAWEI-IF-EXT-MIB objects, ENTITY-MIB, IF-MIB columns
HW_TRAP_OBJECT = "1.3.6.1.4.1.2011.5.25.219.1"
HW_IF_EXT = "1.3.6.1.4.1.2011.5.25.41.1.1"
HW_OPER_STATUS = "1.3.6.1.4.1.2011.5.25.31.1.1.1.1.2"
ENT_PHYSICAL_DESCR = "1.3.6.1.2.1.47.1.1.1.1.2"
ENT_PHYSICAL_NAME = "1.3.6.1.2.1.47.1.1.1.1.7"
IF_ENTRY = "1.3.6.1.2.1.2.2.1"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
# HH3C-ENTITY-EXT-MIB hh3cEntityExtStateEntry columns
H3C_STATE = "1.3.6.1.4.1.25506.2.6.1.1.1.1"


async def _send(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=20)
    return process.returncode, err.decode(errors="replace")


async def _exchange(notifications: list[tuple[str, list[str]]]) -> tuple[list[TrapRecord], dict[str, int]]:
    """Send each (`trap`|`inform`, [trap OID, varbinds…]) in turn to a fresh receiver; the records
    in the order sent, and the receiver's counters."""
    queue: asyncio.Queue = asyncio.Queue()
    config = TrapConfig(host="127.0.0.1", port=0, communities=(COMMUNITY,))
    records = []
    async with TrapReceiver(config, on_trap=queue.put_nowait) as receiver:
        target = f"127.0.0.1:{receiver.port}"
        for kind, args in notifications:
            if kind == "inform":
                command = ["snmpinform", "-v2c", "-c", COMMUNITY, "-r", "1", "-t", "3", target, "", *args]
            else:
                command = ["snmptrap", "-v2c", "-c", COMMUNITY, target, "", *args]
            code, err = await _send(*command)
            assert code == 0, err  # snmpinform exits 0 only once the inform was acknowledged
            records.append(await asyncio.wait_for(queue.get(), 5.0))
        return records, dict(receiver.stats)


# -- Poly ------------------------------------------------------------------------------------------
@needs_snmptrap
def test_poly_endpoint_notifications():
    camera = [
        "1.3.6.1.4.1.13885.101.0.76",  # primaryCameraDown
        f"{POLY_VAR}.2.0", "s", "Room 301 codec",
        f"{POLY_VAR}.3.0", "i", "1",
        f"{POLY_VAR}.5.0", "s", "camera1",
        f"{POLY_VAR}.6.0", "s", "Primary camera disconnected",
        f"{POLY_VAR}.7.0", "i", "2",
    ]  # fmt: skip
    registration = [
        "1.3.6.1.4.1.13885.101.0.72",  # sipRegistrationFailed
        f"{POLY_VAR}.1.0", "s", "Room 301 codec",
        f"{POLY_VAR}.3.0", "i", "1",
        f"{POLY_VAR}.6.0", "s", "SIP registration failed",
        f"{POLY_VAR}.7.0", "i", "3",
        f"{POLY_VAR}.8.0", "o", "1.3.6.1.4.1.13885.101.1.2.8.3.1.2.1",
    ]  # fmt: skip
    loss = [
        "1.3.6.1.4.1.13885.101.0.85",  # packetLossExcessive
        f"{POLY_VAR}.3.0", "i", "1",
        f"{POLY_VAR}.6.0", "s", "Packet loss above threshold",
        f"{POLY_VAR}.7.0", "i", "4",
        f"{POLY_VAR}.9.0", "i", "5",
        f"{POLY_VAR}.10.0", "s", "conf-42",
    ]  # fmt: skip
    login = [
        "1.3.6.1.4.1.13885.101.0.17",  # securityFailedAuthAttempt
        f"{POLY_VAR}.3.0", "i", "3",
        f"{POLY_VAR}.6.0", "s", "Failed login for admin",
        f"{POLY_VAR}.7.0", "i", "4",
        f"{POLY_VAR}.11.0", "s", "web",
    ]  # fmt: skip
    cleared = ["1.3.6.1.4.1.13885.101.0.77", f"{POLY_VAR}.3.0", "i", "2", f"{POLY_VAR}.7.0", "i", "6"]
    records, stats = asyncio.run(
        _exchange([("trap", camera), ("inform", registration), ("trap", loss), ("trap", login), ("trap", cleared)])
    )
    camera_down, sip, packet_loss, auth, camera_ok = records

    assert (camera_down.name, camera_down.mib, camera_down.event) == (
        "primaryCameraDown",
        "POLYCOM-ENDPOINT-MIB",
        "environment",
    )
    assert camera_down.fields == {
        "reporting_node": "Room 301 codec",
        "type": "problem",
        "key": "camera1",
        "descr": "Primary camera disconnected",
        "severity": "critical",
    }
    assert (sip.kind, sip.name, sip.event) == ("inform", "sipRegistrationFailed", "environment")
    assert sip.fields == {
        "node": "Room 301 codec",
        "type": "problem",
        "descr": "SIP registration failed",
        "severity": "error",
        "value_oid": "1.3.6.1.4.1.13885.101.1.2.8.3.1.2.1",
    }
    assert (packet_loss.name, packet_loss.fields) == (
        "packetLossExcessive",
        {
            "type": "problem",
            "descr": "Packet loss above threshold",
            "severity": "warning",
            "threshold": 5,
            "conference_id": "conf-42",
        },
    )
    assert (auth.name, auth.event, auth.fields["server"], auth.fields["type"]) == (
        "securityFailedAuthAttempt",
        "auth_failure",
        "web",
        "info",
    )
    assert (camera_ok.name, camera_ok.fields) == (
        "primaryCameraOK",
        {"type": "resolution", "severity": "informational"},
    )
    assert stats["traps"] == 4 and stats["informs"] == 1 and "unknown_trap" not in stats

    finding = judge_trap("codec-301", camera_down, uplink=None)
    assert finding.code == "snmp.trap.environment" and finding.verdict == Verdict.FAIL  # the codec says critical
    assert "primaryCameraDown Primary camera disconnected" in finding.message.en
    cleared = judge_trap("codec-301", camera_ok, uplink=None)  # the map's verdict: a clear
    assert (cleared.code, cleared.verdict) == ("snmp.trap.environment_clear", Verdict.OK)
    assert "alarm cleared: primaryCameraOK" in cleared.message.en
    assert judge_trap("codec-301", auth, uplink=None).code == "snmp.trap.auth_failure"


# -- Huawei ----------------------------------------------------------------------------------------
@needs_snmptrap
def test_huawei_entity_and_interface_notifications():
    board = [
        "1.3.6.1.4.1.2011.5.25.219.2.2.3",  # hwBoardFail
        f"{HW_TRAP_OBJECT}.1.0", "i", "16842753",
        f"{ENT_PHYSICAL_NAME}.16842753", "s", "Board 1",
        f"{HW_TRAP_OBJECT}.2.0", "i", "2",
        f"{HW_TRAP_OBJECT}.3.0", "i", "132105",
        f"{HW_TRAP_OBJECT}.13.0", "s", "The sensor on the board failed",
        f"{HW_OPER_STATUS}.16842753", "i", "2",
    ]  # fmt: skip
    hot = [
        "1.3.6.1.4.1.2011.5.25.219.2.10.15",  # hwBrdTempFatalAlarm
        f"{HW_TRAP_OBJECT}.1.0", "i", "16842753",
        f"{ENT_PHYSICAL_NAME}.16842753", "s", "Board 1",
        f"{HW_TRAP_OBJECT}.5.1.1.16842753", "i", "1",
        f"{HW_TRAP_OBJECT}.5.1.4.16842753", "i", "85",
        f"{HW_TRAP_OBJECT}.5.1.3.16842753", "i", "88",
        f"{HW_TRAP_OBJECT}.3.0", "i", "0",
    ]  # fmt: skip
    power = [
        "1.3.6.1.4.1.2011.5.25.219.2.5.3",  # hwPowerFail
        f"{HW_TRAP_OBJECT}.1.0", "i", "16973826",
        f"{ENT_PHYSICAL_NAME}.16973826", "s", "PWR2",
        f"{HW_TRAP_OBJECT}.3.0", "i", "0",
        f"{HW_OPER_STATUS}.16973826", "i", "2",
        f"{HW_TRAP_OBJECT}.13.0", "s", "The power supply is abnormal",
    ]  # fmt: skip
    member_down = [
        "1.3.6.1.4.1.2011.5.25.41.3.9",  # hwExtLinkDown
        f"{IF_ENTRY}.1.7", "i", "7",
        f"{IF_ENTRY}.7.7", "i", "1",
        f"{IF_ENTRY}.8.7", "i", "2",
        f"{IF_ENTRY}.2.7", "s", "GigabitEthernet0/0/7",
        f"{HW_IF_EXT}.2.0", "i", "2",
        f"{HW_IF_EXT}.3.0", "s", "Eth-Trunk1",
    ]  # fmt: skip
    flow_down = [
        "1.3.6.1.4.1.2011.5.25.41.3.5",  # hwIfFlowDown
        f"{HW_IF_EXT}.1.1.8.9", "i", "2",
        f"{IF_NAME}.9", "s", "GigabitEthernet0/0/9",
    ]  # fmt: skip
    records, stats = asyncio.run(
        _exchange([("trap", board), ("trap", hot), ("inform", power), ("trap", member_down), ("trap", flow_down)])
    )
    board_fail, brd_temp, power_fail, ext_down, flow = records

    assert (board_fail.name, board_fail.mib, board_fail.event) == (
        "hwBoardFail",
        "HUAWEI-ENTITY-TRAP-MIB",
        "environment",
    )
    assert board_fail.fields == {
        "index": 16842753,
        "descr": "Board 1",
        "entity_type": "lpu",
        "fault_id": 132105,
        "reason": "The sensor on the board failed",
        "state": "disabled",
    }
    assert (brd_temp.name, brd_temp.fields) == (
        "hwBrdTempFatalAlarm",
        {
            "index": 16842753,
            "descr": "Board 1",
            "direction": "riseOver",
            "threshold_critical": 85,
            "value": 88,
            "fault_id": 0,
        },
    )
    assert (power_fail.kind, power_fail.name, power_fail.event) == ("inform", "hwPowerFail", "environment")
    assert power_fail.fields["descr"] == "PWR2" and power_fail.fields["state"] == "disabled"
    assert (ext_down.name, ext_down.mib, ext_down.event) == ("hwExtLinkDown", "HUAWEI-IF-EXT-MIB", "link_down")
    assert ext_down.fields == {
        "ifIndex": 7,
        "ifDescr": "GigabitEthernet0/0/7",
        "ifAdminStatus": "up",
        "ifOperStatus": "down",
        "phy_status": "down",
        "member_of": "Eth-Trunk1",
    }
    assert (flow.name, flow.event, flow.fields) == (
        "hwIfFlowDown",
        "link_down",
        {"ifName": "GigabitEthernet0/0/9", "flow_status": "flowDown"},
    )
    assert stats["traps"] == 4 and stats["informs"] == 1 and "unknown_trap" not in stats

    on_uplink = judge_trap("core-switch", ext_down, uplink="GigabitEthernet0/0/7")
    assert (on_uplink.code, on_uplink.verdict) == ("snmp.trap.link_down", Verdict.FAIL)
    assert "GigabitEthernet0/0/7" in on_uplink.message.en
    assert "GigabitEthernet0/0/9" in judge_trap("core-switch", flow, uplink=None).message.en
    fatal = judge_trap("core-switch", brd_temp, uplink=None)
    assert "hwBrdTempFatalAlarm Board 1 88" in fatal.message.en and fatal.verdict == Verdict.FAIL


# -- H3C / HPE Comware -----------------------------------------------------------------------------
@needs_snmptrap
def test_h3c_comware_notifications():
    temperature = [
        "1.3.6.1.4.1.25506.2.6.2.0.1",  # hh3cEntityExtTemperatureThresholdNotification
        f"{H3C_STATE}.1.2", "i", "2",
        f"{H3C_STATE}.12.2", "i", "78",
        f"{H3C_STATE}.13.2", "i", "70",
        f"{H3C_STATE}.2.2", "i", "4",
    ]  # fmt: skip
    fault = [
        "1.3.6.1.4.1.25506.2.6.2.0.16",  # hh3cEntityExtFaultAlarmOn
        f"{H3C_STATE}.1.30", "i", "30",
        f"{ENT_PHYSICAL_NAME}.30", "s", "Fan 1",
        f"{H3C_STATE}.19.30", "i", "41",
        f"{H3C_STATE}.2.30", "i", "4",
    ]  # fmt: skip
    removed = [
        "1.3.6.1.4.1.25506.2.6.2.0.13",  # hh3cEntityRemove
        f"{ENT_PHYSICAL_DESCR}.40", "s", "Power supply 2",
        f"{H3C_STATE}.2.40", "i", "4",
        f"{H3C_STATE}.3.40", "i", "2",
    ]  # fmt: skip
    fan = ["1.3.6.1.4.1.25506.8.35.12.1.6", "1.3.6.1.4.1.25506.8.35.9.1.1.1.1.1", "i", "1"]  # hh3cfanfailure
    reboot = ["1.3.6.1.4.1.25506.6.8.3"]  # hh3cRebootSendTrap
    records, stats = asyncio.run(
        _exchange([("trap", temperature), ("trap", fault), ("inform", removed), ("trap", fan), ("trap", reboot)])
    )
    hot, fan_fault, psu_out, fan_fail, rebooting = records

    assert (hot.name, hot.mib, hot.event) == (
        "hh3cEntityExtTemperatureThresholdNotification",
        "HH3C-ENTITY-EXT-MIB",
        "environment",
    )
    assert hot.fields == {"index": 2, "value": 78, "threshold": 70, "admin_status": "unlocked"}
    assert (fan_fault.name, fan_fault.fields) == (
        "hh3cEntityExtFaultAlarmOn",
        {"index": 30, "descr": "Fan 1", "error_status": "fanError", "admin_status": "unlocked"},
    )
    assert (psu_out.kind, psu_out.name, psu_out.fields) == (
        "inform",
        "hh3cEntityRemove",
        {"descr": "Power supply 2", "admin_status": "unlocked", "state": "disabled"},
    )
    assert (fan_fail.name, fan_fail.mib, fan_fail.event, fan_fail.fields) == (
        "hh3cfanfailure",
        "HH3C-LswTRAP-MIB",
        "environment",
        {"fan": 1},
    )
    assert (rebooting.name, rebooting.mib, rebooting.event, rebooting.fields) == (
        "hh3cRebootSendTrap",
        "HH3C-COMMON-SYSTEM-MIB",
        "restart",
        {},
    )
    assert stats["traps"] == 4 and stats["informs"] == 1 and "unknown_trap" not in stats

    assert "hh3cEntityExtTemperatureThresholdNotification 78" in judge_trap("access-sw", hot, None).message.en
    assert "Fan 1" in judge_trap("access-sw", fan_fault, None).message.en
    assert judge_trap("access-sw", rebooting, None).code == "snmp.trap.restart"


# -- the files themselves --------------------------------------------------------------------------
def _load(name: str) -> tuple[str, dict]:
    text = (TRAP_MAP_DIR / name).read_text(encoding="utf-8")
    return text, yaml.safe_load(text)


def _oid(text: str) -> str:
    return str(text).strip(".")


def test_every_oid_is_mapped_once_across_all_maps():
    seen: Counter[str] = Counter()
    for path in sorted(TRAP_MAP_DIR.glob("*.yaml")):
        seen.update(_oid(n["oid"]) for n in yaml.safe_load(path.read_text(encoding="utf-8"))["notifications"])
    assert [oid for oid, count in seen.items() if count > 1] == []
    mapped = {".".join(map(str, oid)) for oid in trap_map()}  # the loader agrees: nothing shadowed
    for name in VENDOR_FILES:
        _, data = _load(name)
        assert {_oid(n["oid"]) for n in data["notifications"]} <= mapped


def test_each_vendor_file_names_its_sources():
    for name in VENDOR_FILES:
        text, data = _load(name)
        header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
        assert re.search(r"(librenms/librenms|netdisco/netdisco-mibs)", header), name
        assert re.search(r"commit [0-9a-f]{12}", header), name
        mibs = {n["mib"] for n in data["notifications"]}
        for mib in mibs:
            assert mib in header and mib in data["source"], (name, mib)
            # the source line gives each module's revision, as the MIB's LAST-UPDATED writes it
            assert re.search(re.escape(mib) + r" \(\d{12}Z\)", data["source"]), (name, mib)
        for notification in data["notifications"]:
            enterprise = ".".join(_oid(notification["oid"]).split(".")[:7])
            assert enterprise in header, (name, notification["name"])  # every OID under a cited root
            assert set(notification.get("values", {})) <= set(notification.get("fields", {})), notification["name"]


def test_vendor_maps_use_the_event_kinds_the_judge_knows():
    kinds = {"link_down", "link_up", "restart", "auth_failure", "environment"}
    for name in VENDOR_FILES:
        _, data = _load(name)
        assert {n["event"] for n in data["notifications"]} <= kinds, name
