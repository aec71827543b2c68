"""What a received notification means: trap OIDs mapped to names, an event kind and named fields,
kept as YAML data (collectors/snmp/trap_maps/*.yaml, one file per MIB family, each citing its MIB),
read by one lookup.

A field is a column OID: a varbind `column.index` fills it (`ifIndex` from 1.3.6.1.2.1.2.2.1.1.7);
`values` turns an enumeration's number into its MIB word. An unknown trap OID is still a record
(named by its OID, event `unknown`), never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from collectors.snmp.session import Oid, parse_oid
from collectors.snmp.values import Value

TRAP_MAP_DIR = Path(__file__).parent / "trap_maps"
TrapEvent = Literal["link_down", "link_up", "restart", "auth_failure", "environment", "unknown"]
TrapVerdict = Literal["ok", "warn", "fail"]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NotificationDef(_Data):
    oid: str
    name: str
    mib: str
    event: TrapEvent
    fields: dict[str, str] = Field(default_factory=dict, description="Field name → column (or scalar) OID.")
    values: dict[str, dict[int, str]] = Field(default_factory=dict, description="Field name → number → word.")
    verdict: TrapVerdict | None = Field(
        default=None,
        description="What the notification itself says, where its MIB makes that plain: a clear (…Resume, …OK, "
        "…Normal) is ok, a fatal or shutdown alarm is fail; unset, the event kind decides (probes/snmp_traps.py).",
    )

    @field_validator("oid")
    @classmethod
    def _numeric(cls, value: str) -> str:
        parse_oid(value)
        return value.strip(".")

    @field_validator("fields")
    @classmethod
    def _numeric_fields(cls, value: dict[str, str]) -> dict[str, str]:
        for oid in value.values():
            parse_oid(oid)
        return value


class TrapMapFile(_Data):
    source: str = Field(description="The MIB(s) and revision the OIDs were taken from.")
    notifications: list[NotificationDef]


class TrapMapError(ValueError):
    """A trap map file that cannot be read (named with the field at fault)."""


@dataclass(frozen=True)
class Mapped:
    """A notification as the map reads it."""

    name: str
    mib: str | None
    event: TrapEvent
    fields: dict[str, Value]
    verdict: TrapVerdict | None = None


@cache
def trap_map() -> dict[Oid, NotificationDef]:
    found: dict[Oid, NotificationDef] = {}
    for path in sorted(TRAP_MAP_DIR.glob("*.yaml")):
        try:
            data = TrapMapFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError, ValidationError, ValueError) as exc:
            raise TrapMapError(f"{path}: {exc}") from None
        for notification in data.notifications:
            oid = parse_oid(notification.oid)
            if oid in found:
                raise TrapMapError(f"{path}: {notification.oid} is also mapped as {found[oid].name}")
            found[oid] = notification
    return found


def _field(oid: Oid, varbinds: dict[Oid, Value]) -> Value:
    """The value of a scalar (`oid.0`) or of a column's first instance (`oid.index`) among the varbinds."""
    for bound, value in varbinds.items():
        if bound[: len(oid)] == oid and len(bound) > len(oid):
            return value
    return None


def interpret(trap_oid: Oid, varbinds: dict[Oid, Value]) -> Mapped:
    """Name, event and fields of one notification; unknown OIDs keep their number as the name."""
    definition = trap_map().get(trap_oid)
    if definition is None:
        return Mapped(name=".".join(map(str, trap_oid)), mib=None, event="unknown", fields={})
    fields: dict[str, Value] = {}
    for name, column in definition.fields.items():
        value = _field(parse_oid(column), varbinds)
        if value is None:
            continue
        words = definition.values.get(name)
        fields[name] = words.get(value, value) if words is not None and isinstance(value, int) else value
    return Mapped(
        name=definition.name, mib=definition.mib, event=definition.event, fields=fields, verdict=definition.verdict
    )
