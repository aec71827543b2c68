"""The one list of what the agent watches: each source's monitor, check prefix, messages and role.

A new transport or input is one entry here (as a Telegraf input registers itself by name): the
daemon builds its monitors from it, a reload forgets its checks by its prefix (a removed device's
by its name), the conference record counts a device source's failures as Art. 13 incidents, the
self-test polls device sources in its `devices` group, and the generated docs/codes.md lists its
messages.

Modules are named, not imported: a source's stack (pysnmp, netmiko, OpenCV, PortAudio) is loaded
only when it is configured or its messages are listed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.config.models import Settings

if TYPE_CHECKING:
    from agent.monitors import Monitor
    from contract.catalog import Catalog


def _load(reference: str) -> Any:
    """`package.module:NAME` → the object it names."""
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Source:
    name: str
    check_prefix: str  # every check id it reports starts with this
    monitor: str  # the module whose `build(settings) -> list[Monitor]` makes its loops
    configured: Callable[[Settings], bool]
    catalogs: tuple[tuple[str, str], ...] = ()  # (heading in docs/codes.md, "module:CATALOG")
    selftest_poll: str | None = None  # a device source: "module:coroutine(settings)" polling every device afresh
    subjects: Callable[[Settings], set[str]] | None = None  # a device source: its devices' names (findings' subjects)

    @property
    def is_device(self) -> bool:
        return self.selftest_poll is not None

    def build(self, settings: Settings) -> list[Monitor]:
        return _load(f"{self.monitor}:build")(settings) if self.configured(settings) else []

    def catalog_entries(self) -> list[tuple[str, Catalog]]:
        return [(heading, _load(reference)) for heading, reference in self.catalogs]


SOURCES: tuple[Source, ...] = (
    Source(
        "host",
        "host.",
        "agent.monitors.host",
        lambda settings: settings.host.enabled,
        (("host checks (第十三条)", "probes.host:HOST_MESSAGES"),),
    ),
    Source(
        "snmp",
        "snmp.",
        "agent.monitors.snmp",
        lambda settings: bool(settings.snmp.devices),
        (
            ("SNMP checks (第十三条)", "probes.snmp:SNMP_MESSAGES"),
            ("SNMP traps (第十三条)", "probes.snmp_traps:TRAP_MESSAGES"),
        ),
        selftest_poll="agent.selftest.checks:snmp_devices",
        subjects=lambda settings: {device.name for device in settings.snmp.devices},
    ),
    Source(
        "ssh",
        "ssh.",
        "agent.monitors.ssh",
        lambda settings: bool(settings.ssh.devices),
        (("SSH checks (第十三条; codec video input 第十七条)", "probes.ssh:SSH_MESSAGES"),),
        selftest_poll="agent.selftest.checks:ssh_devices",
        subjects=lambda settings: {device.name for device in settings.ssh.devices},
    ),
    Source(
        "video",
        "video.",
        "agent.monitors.video",
        lambda settings: settings.video is not None,
        (
            ("video checks (第十七条; framing 第十五条, background 第十六条)", "probes.video:VIDEO_MESSAGES"),
            ("video framing and background (advisory)", "probes.video_framing:FRAMING_MESSAGES"),
            ("video sources: why one cannot be used", "collectors.video.source:SOURCE_MESSAGES"),
        ),
    ),
    Source(
        "audio",
        "audio.",
        "agent.monitors.audio",
        lambda settings: settings.audio is not None,
        (
            ("audio checks (第十七条)", "probes.audio:AUDIO_MESSAGES"),
            ("audio sources: why one cannot be used", "collectors.audio.source:SOURCE_MESSAGES"),
        ),
    ),
    Source(
        "simulation",
        "sim.",
        "agent.monitors.simulation",
        lambda settings: settings.simulation is not None,
        (("simulated venue (demo only)", "agent.monitors.simulation:SIM_MESSAGES"),),
    ),
)
DEVICE_SOURCES = tuple(source for source in SOURCES if source.is_device)
DEVICE_PREFIXES = tuple(source.check_prefix for source in DEVICE_SOURCES)


def poll_devices(source: Source) -> Callable[[Settings], Any]:
    """The self-test's fresh poll of a device source's devices."""
    assert source.selftest_poll is not None
    return _load(source.selftest_poll)
