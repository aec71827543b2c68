"""Device profiles: vendor knowledge (OIDs, scaling, value maps) as YAML data read by one engine.

A profile says how to recognise a device (sysObjectID prefixes, sysDescr patterns) and where its
health, identity, registration, component states and active calls live. `include` pulls in the
sections of other profiles (usually `generic`: MIB-II interfaces, HOST-RESOURCES, ENTITY names).
See docs/snmp.md for the format and the profiles shipped.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from collectors.snmp.session import Oid, parse_oid

PROFILE_DIR = Path(__file__).parent / "profiles"
HealthMetric = Literal["cpu_pct", "mem_pct", "temperature_c"]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Where(_Data):
    """Keep only rows whose `column` equals `equals` (e.g. hrStorageType = hrStorageRam)."""

    column: str
    equals: str | int


class HealthSource(_Data):
    """A per-entity number: a column read directly, or a percentage from used/free or used/size."""

    value: str | None = None
    used: str | None = None
    free: str | None = None
    size: str | None = None
    names: str = Field(default="entity", description="`entity`, a column OID, or a template with {index}")
    scale: float = 1.0
    ignore: list[float] = Field(default_factory=list, description="Sentinels: rows reading these are skipped")
    where: Where | None = None

    @model_validator(mode="after")
    def _one_form(self) -> HealthSource:
        if (self.value is None) == (self.used is None):
            raise ValueError("give either `value`, or `used` with `free` or `size`")
        if self.used is not None and (self.free is None) == (self.size is None):
            raise ValueError("`used` needs exactly one of `free` or `size`")
        return self


class StatusSource(_Data):
    """A component's state: a scalar (OID ending in .0) or a column (one row per component)."""

    kind: str
    oid: str
    names: str | None = Field(default=None, description="a column OID, a fixed name, or a template with {index}")
    map: dict[int, str]


class RegistrationSource(_Data):
    oid: str
    map: dict[int, Literal["registered", "failed", "disabled", "unknown"]]


class CallColumns(_Data):
    """Columns of an active-call table; any may be absent on a given device."""

    far_site: str | None = None
    loss_rx_pct: str | None = None
    loss_tx_pct: str | None = None
    jitter_rx_ms: str | None = None
    jitter_tx_ms: str | None = None
    latency_rx_ms: str | None = None
    latency_tx_ms: str | None = None


class Match(_Data):
    sys_object_id: list[str] = Field(default_factory=list)
    sys_descr: list[str] = Field(default_factory=list)


class Profile(_Data):
    name: str
    vendor: str = ""
    kind: Literal["switch", "router", "codec", "host", "device"] = "device"
    description: str = ""
    match: Match = Field(default_factory=Match)
    include: list[str] = Field(default_factory=list)
    interfaces: bool = True
    identity: dict[str, str] = Field(default_factory=dict)
    health: dict[HealthMetric, list[HealthSource]] = Field(default_factory=dict)
    registration: dict[Literal["sip", "h323"], RegistrationSource] = Field(default_factory=dict)
    status: list[StatusSource] = Field(default_factory=list)
    calls: CallColumns | None = None

    def merged_with(self, base: Profile) -> Profile:
        """This profile on top of `base`: lists are joined (base first), mappings overlaid."""
        health = {key: [*base.health.get(key, []), *self.health.get(key, [])] for key in {*base.health, *self.health}}
        return self.model_copy(
            update={
                "identity": base.identity | self.identity,
                "health": health,
                "registration": base.registration | self.registration,
                "status": [*base.status, *self.status],
                "calls": self.calls or base.calls,
                "interfaces": self.interfaces and base.interfaces,
                "include": [],
            }
        )


class ProfileError(Exception):
    """A profile file is missing or malformed; names the file and the problem."""


def _read(path: Path) -> Profile:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Profile.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: cannot read: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ProfileError(f"{path}: {problems}") from None


@cache
def load_profiles(directory: Path = PROFILE_DIR) -> dict[str, Profile]:
    """Every profile in `directory`, with its includes resolved."""
    raw = {}
    for path in sorted(directory.glob("*.yaml")):
        profile = _read(path)
        if profile.name != path.stem:
            raise ProfileError(f"{path}: name {profile.name!r} differs from the file name")
        raw[profile.name] = profile

    def resolve(name: str, seen: tuple[str, ...] = ()) -> Profile:
        if name in seen:
            raise ProfileError(f"profile include loop: {' → '.join((*seen, name))}")
        if name not in raw:
            raise ProfileError(f"profile {seen[-1] if seen else '?'} includes unknown profile {name!r}")
        profile = raw[name]
        for base in profile.include:
            profile = profile.merged_with(resolve(base, (*seen, name)))
        return profile

    return {name: resolve(name) for name in raw}


def _oid_prefix_len(sys_object_id: Oid, prefix: str) -> int:
    wanted = parse_oid(prefix)
    return len(wanted) if sys_object_id[: len(wanted)] == wanted else -1


def select_profile(profiles: dict[str, Profile], sys_object_id: str | None, sys_descr: str | None) -> Profile:
    """Longest sysObjectID prefix wins, and between equal prefixes the profile whose sysDescr pattern
    also matches (ZTE answers the bare enterprise OID .3902 for both its ZXR10 switches and its ZXV10
    endpoints: only sysDescr tells them apart); without an OID match, the first sysDescr pattern;
    else `generic`."""

    def describes(profile: Profile) -> bool:
        return bool(sys_descr) and any(re.search(pattern, sys_descr or "") for pattern in profile.match.sys_descr)

    best, best_rank = None, (-1, False)
    if sys_object_id:
        try:
            oid = parse_oid(sys_object_id)
        except ValueError:
            oid = ()
        for profile in profiles.values():
            for prefix in profile.match.sys_object_id:
                length = _oid_prefix_len(oid, prefix)
                if length < 0:
                    continue
                rank = (length, describes(profile))
                if rank > best_rank:
                    best, best_rank = profile, rank
    if best is not None:
        return best
    for profile in profiles.values():
        if describes(profile):
            return profile
    return profiles["generic"]
