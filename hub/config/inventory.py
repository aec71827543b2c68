"""The inventory: the venues that *should* exist, so that one that never reported shows as `never`.

An office keeps it as a spreadsheet, so CSV (UTF-8, a header row; a UTF-8 BOM as Excel/WPS write
it is accepted) is the main form; TOML `[[venue]]` tables with the same keys also work.

Required columns: `province,prefecture,county,id,name` (county `_` for a prefecture's own venue).
Optional Art. 7 contact columns: `liaison_name,liaison_phone,technical_head_name,
technical_head_phone,meeting_head_name,meeting_head_phone`. Any other column is an error (a typo
in a header would otherwise drop a phone number silently).
"""

from __future__ import annotations

import csv
import io
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from contract.broker import SEGMENT_PATTERN

REQUIRED = ("province", "prefecture", "county", "id", "name")
ROLES = ("liaison", "technical_head", "meeting_head")
CONTACT_COLUMNS = tuple(f"{role}_{part}" for role in ROLES for part in ("name", "phone"))
MAX_INVENTORY_BYTES = 32 * 1_048_576
PHONE_PATTERN = r"^\+?[0-9][0-9 -]{4,30}$"  # as the agent's [contacts]


class InventoryError(Exception):
    """The inventory cannot be used; `problems` names each bad row (`FILE:LINE: problem`)."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__("\n".join(problems))


class InventoryVenue(BaseModel):
    """One row: where the venue sits in the tree, its name, and the contacts the office filed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    province: str = Field(pattern=SEGMENT_PATTERN)
    prefecture: str = Field(pattern=SEGMENT_PATTERN)
    county: str = Field(pattern=SEGMENT_PATTERN)
    id: str = Field(pattern=SEGMENT_PATTERN)
    name: str = Field(min_length=1, max_length=256)
    liaison_name: str | None = None
    liaison_phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    technical_head_name: str | None = None
    technical_head_phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    meeting_head_name: str | None = None
    meeting_head_phone: str | None = Field(default=None, pattern=PHONE_PATTERN)

    @field_validator("province", "prefecture", "id")
    @classmethod
    def _not_level_marker(cls, value: str) -> str:
        if value == "_":
            raise ValueError("`_` is only allowed for county (a prefecture's own venue)")
        return value

    @property
    def key(self) -> str:
        return f"{self.province}/{self.prefecture}/{self.county}/{self.id}"

    @property
    def level(self) -> str:
        return "prefecture" if self.county == "_" else "county"

    def contacts(self) -> dict[str, Any]:
        """The Art. 7 contacts in the shape of the agent's status `contacts` ({role: {name, phone}})."""
        result: dict[str, Any] = {}
        for role in ROLES:
            name, phone = getattr(self, f"{role}_name"), getattr(self, f"{role}_phone")
            if name or phone:
                result[role] = {"name": name, "phone": phone}
        return result


@dataclass
class Inventory:
    venues: list[InventoryVenue] = field(default_factory=list)

    def in_scope(self, scope: str) -> list[InventoryVenue]:
        from hub.scope import venue_in_scope

        return [venue for venue in self.venues if venue_in_scope(venue.key, scope)]


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items() if v not in (None, "")}


def _check(rows: list[tuple[int, dict[str, Any]]], path: Path) -> Inventory:
    problems: list[str] = []
    venues: list[InventoryVenue] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        try:
            venue = InventoryVenue.model_validate(_clean(row))
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(p) for p in error["loc"])
                problems.append(f"{path}:{line}: {where}: {str(error['msg']).removeprefix('Value error, ')}")
            continue
        if venue.key in seen:
            problems.append(f"{path}:{line}: venue {venue.key} is listed twice (first on line {seen[venue.key]})")
            continue
        seen[venue.key] = line
        venues.append(venue)
    if problems:
        raise InventoryError(path, problems)
    return Inventory(venues)


def _read_csv(text: str, path: Path) -> Inventory:
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in REQUIRED and name not in CONTACT_COLUMNS]
    if missing or unknown:
        parts = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + (
            [f"unknown column(s) {', '.join(unknown)} (known: {', '.join(REQUIRED + CONTACT_COLUMNS)})"]
            if unknown
            else []
        )
        raise InventoryError(path, [f"{path}:1: {'; '.join(parts)}"])
    reader.fieldnames = header
    rows = []
    for row in reader:
        if None in row:
            raise InventoryError(path, [f"{path}:{reader.line_num}: more fields than the header has"])
        if any(value.strip() for value in row.values() if value):
            rows.append((reader.line_num, row))
    return _check(rows, path)


def _read_toml(text: str, path: Path) -> Inventory:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InventoryError(path, [f"{path}: not valid TOML: {exc}"]) from None
    if set(data) - {"venue"} or not isinstance(data.get("venue", []), list):
        raise InventoryError(path, [f"{path}: expected only [[venue]] tables"])
    header_lines = [n for n, line in enumerate(text.splitlines(), start=1) if line.strip().startswith("[[venue]]")]
    rows = [(header_lines[i] if i < len(header_lines) else 0, row) for i, row in enumerate(data.get("venue", []))]
    return _check(rows, path)


def load_inventory(path: Path) -> Inventory:
    """The inventory in `path` (`.toml`, else CSV), or `InventoryError` naming every bad row."""
    try:
        if path.stat().st_size > MAX_INVENTORY_BYTES:
            raise InventoryError(path, [f"{path}: larger than {MAX_INVENTORY_BYTES} bytes"])
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InventoryError(path, [f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise InventoryError(path, [f"{path}: not UTF-8 at byte {exc.start} (save it as UTF-8 CSV)"]) from None
    return _read_toml(text, path) if path.suffix.lower() == ".toml" else _read_csv(text, path)
