"""SSH device profiles: vendor knowledge (commands, TextFSM platform, how to read a port's state,
the CPU line, how the device words a refusal) as YAML data, one file per netmiko device_type.

Adding a platform is adding a file: see docs/ssh.md for the format.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

PROFILE_DIR = Path(__file__).parent / "profiles"


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldMatch(_Data):
    """True when the row's `field` matches `pattern`."""

    field: str
    pattern: str

    def __call__(self, row: dict) -> bool:
        return re.search(self.pattern, str(row.get(self.field, ""))) is not None


class InterfaceTable(_Data):
    command: str
    name: str = Field(description="The template field holding the port name.")
    admin_down: FieldMatch
    oper_up: FieldMatch
    description: str | None = None
    speed: str | None = None
    in_errors: str | None = None
    out_errors: str | None = None


class CpuLine(_Data):
    command: str
    pattern: str = Field(description="A regular expression whose first group is the CPU percentage.")


class Dialect(_Data):
    """One software line of a device family (Cisco TC vs CE/RoomOS): the version pattern that names
    it and the status commands that exist on it (a path one line lacks is refused by the device, and
    a refusal is a finding, so each line is asked only what it has)."""

    name: str
    software: str = Field(description="A regular expression matched against the reported software version.")
    commands: list[str]

    @field_validator("software")
    @classmethod
    def _compiles(cls, value: str) -> str:
        re.compile(value)
        return value


class SshProfile(_Data):
    device_type: str
    description: str
    kind: Literal["codec", "network"]
    rejection: str = Field(description="Matches (multi-line) the device's answer to a command it refused.")
    textfsm_platform: str | None = None
    interfaces: InterfaceTable | None = None
    cpu: CpuLine | None = None
    commands: list[str] = Field(default_factory=list, description="Codecs: the xAPI status commands.")
    end_pattern: str | None = Field(default=None, description="Where an answer ends, when not at the prompt.")
    dialects: list[Dialect] = Field(
        default_factory=list, description="Codecs: per software line, the commands run after `commands`."
    )
    default_dialect: str | None = Field(default=None, description="The dialect of a version no pattern matches.")

    @field_validator("rejection", "end_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value

    def all_commands(self) -> list[str]:
        """Every command a poll may run (the poll's time budget counts them): for a device with
        dialects, the longest of the dialects' lists after the common commands."""
        gear = [table.command for table in (self.interfaces, self.cpu) if table is not None]
        longest = max((d.commands for d in self.dialects), key=len, default=[])
        return [*self.commands, *longest, *gear]

    def dialect_for(self, software: str | None) -> Dialect | None:
        """The dialect whose pattern matches the software version, else the default one (the
        parser reads both shapes anyway: the dialect only chooses which commands to ask)."""
        if not self.dialects:
            return None
        for dialect in self.dialects:
            if software and re.search(dialect.software, software):
                return dialect
        return next((d for d in self.dialects if d.name == self.default_dialect), self.dialects[-1])

    def rejection_of(self, output: str) -> str | None:
        """The device's error line when it refused the command."""
        if not re.search(self.rejection, output, re.MULTILINE):
            return None
        for line in output.splitlines():
            if line.strip().startswith(("Error", "%", "Command not", "Reason")):
                return line.strip()
        return output.strip().splitlines()[-1]


class ProfileError(ValueError):
    """A profile file that cannot be read, or a device_type without one."""


@cache
def profiles() -> dict[str, SshProfile]:
    found = {}
    for path in sorted(PROFILE_DIR.glob("*.yaml")):
        try:
            profile = SshProfile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError, ValidationError, re.error) as exc:
            raise ProfileError(f"{path}: {exc}") from None
        found[profile.device_type] = profile
    return found


def profile_for(device_type: str) -> SshProfile:
    try:
        return profiles()[device_type]
    except KeyError:
        raise ProfileError(f"no SSH profile for device_type {device_type!r} (known: {', '.join(profiles())})") from None
