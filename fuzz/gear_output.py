"""atheris harness: network gear CLI output (Huawei VRP, H3C Comware, Cisco IOS). Any text through
the profile's TextFSM template and CPU pattern gives interfaces and a figure, or GearParseError."""

from __future__ import annotations

import contextlib

import atheris

from fuzz.harness import OURS, run

with atheris.instrument_imports(include=OURS):
    from collectors.ssh import gear
    from collectors.ssh.profile import profile_for


DEVICE_TYPES = ["huawei", "hp_comware", "cisco_ios"]


def seeds() -> list[bytes]:
    from sim import ssh_vendor_output as out

    state = out.GearState(hostname="SW", ports=[out.Port("GE1/0/1"), out.Port("GE1/0/2", up=False)], cpu_pct=12)
    texts = [
        out.huawei_interface_brief(state) + out.huawei_cpu_usage(state),
        out.comware_interface_brief(state) + out.comware_cpu_usage(state),
        out.ios_interfaces_status(state) + out.ios_processes_cpu(state),
    ]
    return [bytes([n]) + text.encode() for n, text in enumerate(texts)]


def one_input(data: bytes) -> None:
    if not data:
        return
    profile = profile_for(DEVICE_TYPES[data[0] % len(DEVICE_TYPES)])
    text = data[1:].decode("utf-8", "replace")
    profile.rejection_of(text)
    with contextlib.suppress(gear.GearParseError):  # documented: output no template understood
        for interface in gear.interfaces(profile, text):
            interface.model_dump_json()
    with contextlib.suppress(gear.GearParseError):
        gear.cpu_pct(profile, text)


if __name__ == "__main__":
    run(seeds, one_input)
