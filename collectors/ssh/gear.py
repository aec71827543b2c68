"""Network gear CLI output read through the device's profile (collectors/ssh/profiles/*.yaml).

Interface tables go through ntc-templates (TextFSM). netmiko would pass its own device_type as
the TextFSM platform, which for Huawei (`huawei`) is not the name ntc-templates indexes
(`huawei_vrp`), so the templates are called here with the profile's platform. CPU lines have no
template for VRP or Comware; they are one line each, read with the profile's regular expression.
"""

from __future__ import annotations

import re

from ntc_templates.parse import parse_output

from collectors.ssh.profile import SshProfile
from collectors.ssh.readings import SshInterface


class GearParseError(ValueError):
    """Output no template or pattern understood (a firmware whose layout differs)."""


def _count(row: dict, field: str | None) -> int | None:
    value = row.get(field) if field else None
    return int(value) if value not in (None, "") and str(value).isdigit() else None


def interfaces(profile: SshProfile, output: str) -> list[SshInterface]:
    table = profile.interfaces
    assert table is not None and profile.textfsm_platform is not None
    try:
        rows = parse_output(platform=profile.textfsm_platform, command=table.command, data=output)
    except Exception as exc:  # textfsm raises its own error types, and a plain Exception for no template
        raise GearParseError(f"{table.command!r}: {exc}") from None
    if not rows:
        raise GearParseError(f"{table.command!r}: no interface in the output")
    return [
        SshInterface(
            name=row[table.name],
            admin_status="down" if table.admin_down(row) else "up",
            oper_status="up" if table.oper_up(row) else "down",
            description=(row.get(table.description) or None) if table.description else None,
            speed=(row.get(table.speed) or None) if table.speed else None,
            in_errors=_count(row, table.in_errors),
            out_errors=_count(row, table.out_errors),
        )
        for row in rows
    ]


def cpu_pct(profile: SshProfile, output: str) -> float:
    assert profile.cpu is not None
    match = re.search(profile.cpu.pattern, output)
    if match is None:
        raise GearParseError(f"{profile.cpu.command!r}: no CPU figure in the output")
    return float(match.group(1))
