"""Network gear CLI: which commands each platform is asked, and how their output is read.

Interface tables go through ntc-templates (TextFSM). netmiko would pass its own device_type as
the TextFSM platform, which for Huawei (`huawei`) is not the name ntc-templates indexes
(`huawei_vrp`), so the templates are called here with the right platform. CPU lines have no
template for VRP or Comware; they are one line each, read with a regular expression.
"""

from __future__ import annotations

import re

from ntc_templates.parse import parse_output

from collectors.ssh.readings import SshInterface

TEXTFSM_PLATFORM = {"huawei": "huawei_vrp", "hp_comware": "hp_comware", "cisco_ios": "cisco_ios"}
GEAR_COMMANDS = {
    "huawei": ("display interface brief", "display cpu-usage"),
    "hp_comware": ("display interface brief", "display cpu-usage"),
    "cisco_ios": ("show interfaces status", "show processes cpu"),
}
CPU_PATTERNS = (
    re.compile(r"CPU [Uu]sage\s*:\s*(\d+(?:\.\d+)?)%"),  # Huawei VRP
    re.compile(r"(\d+(?:\.\d+)?)% in last 1 minute"),  # H3C Comware 7
    re.compile(r"one minute:\s*(\d+(?:\.\d+)?)%"),  # Cisco IOS, older VRP
)


class GearParseError(ValueError):
    """Output no template or pattern understood (a firmware whose layout differs)."""


def _templated(device_type: str, command: str, output: str) -> list[dict]:
    try:
        return parse_output(platform=TEXTFSM_PLATFORM[device_type], command=command, data=output)
    except Exception as exc:  # textfsm raises its own error types, and a plain Exception for no template
        raise GearParseError(f"{command!r}: {exc}") from None


def _huawei(row: dict) -> SshInterface:
    phy = row["phy"]
    admin = "down" if phy.startswith("*") else "up"
    oper = "up" if phy.startswith("up") else "down"
    return SshInterface(
        name=row["interface"],
        admin_status=admin,
        oper_status=oper,
        in_errors=int(row["inerrors"]),
        out_errors=int(row["outerrors"]),
    )


def _comware(row: dict) -> SshInterface:
    link = row["link"].upper()
    return SshInterface(
        name=row["interface"],
        admin_status="down" if link == "ADM" else "up",
        oper_status="up" if link == "UP" else "down",
        description=row.get("description") or None,
        speed=row.get("speed") or None,
    )


def _ios(row: dict) -> SshInterface:
    status = row["status"]
    return SshInterface(
        name=row["port"],
        admin_status="down" if status in ("disabled", "err-disabled") else "up",
        oper_status="up" if status in ("connected", "up") else "down",
        description=row.get("name") or None,
        speed=row.get("speed") or None,
    )


ROW_READERS = {"huawei": _huawei, "hp_comware": _comware, "cisco_ios": _ios}


def interfaces(device_type: str, output: str) -> list[SshInterface]:
    command = GEAR_COMMANDS[device_type][0]
    rows = _templated(device_type, command, output)
    if not rows:
        raise GearParseError(f"{command!r}: no interface in the output")
    return [ROW_READERS[device_type](row) for row in rows]


def cpu_pct(output: str) -> float:
    for pattern in CPU_PATTERNS:
        match = pattern.search(output)
        if match:
            return float(match.group(1))
    raise GearParseError("no CPU figure in the output")
