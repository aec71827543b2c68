"""`probe … -c FILE [NAME]`: a configured device, source or far end, instead of retyping it.

A technician diagnosing a venue has its config at hand; retyping the codec's address, community,
USM keys, known_hosts and profile into `probe snmp` gets one of them wrong, and then the probe and
the daemon disagree about a device that is fine. With `-c`, each probe takes from the config what
the daemon takes (the same target builders: agent/monitors/snmp.py `snmp_target`,
agent/monitors/ssh.py `ssh_target`) and the device's thresholds; options given on the command
line still win where they are given.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import click

from agent.cli.messages import say, usage_error

if TYPE_CHECKING:
    from agent.config import Settings

CONFIG_PROBE_OPTION = click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="The venue's TOML config: take the device (by NAME), source or far end from it.",
)


class Named(Protocol):
    name: str


DeviceT = TypeVar("DeviceT", bound=Named)


def load(config_path: Path) -> Settings:
    """The config, or its errors printed (field path, line; the chosen language) and exit 2."""
    from agent.cli.main import _load_or_exit

    return _load_or_exit(config_path)


def device_named(devices: Sequence[DeviceT], name: str | None, table: str) -> DeviceT:
    """The device called `name` in `[[table]]`; with no name, the only one. Else a usage error
    (exit 3) listing the names there are."""
    known = ", ".join(device.name for device in devices) or "—"
    if not devices:
        raise usage_error("cli.no_configured", table=table)
    if name is None:
        if len(devices) == 1:
            return devices[0]
        raise usage_error("cli.which_device", table=table, known=known)
    for device in devices:
        if device.name == name:
            return device
    raise usage_error("cli.no_device", table=table, name=repr(name), known=known)


def secret_missing(error: Exception) -> SystemExit:
    """A secret the config names is not in this environment: UNKNOWN (3), one line, as `status` says it."""
    click.echo(f"UNKNOWN: {say('cli.secret_missing', detail=error)}", err=True)
    return SystemExit(3)
