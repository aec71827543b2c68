"""A scheduled conference: what `cmd/schedule` carries, `[[conference]]` in the agent's config and an
.ics event become, and what `venue-hub schedule push` sends.

One model for every source and both programs, so that a conference the hub accepts is one the
agent accepts: the same id rules, the same year range (far from both ends of Python's datetime
range, so that every Art. 14 checkpoint of an accepted conference can be computed), the same
limits.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

ConferenceKind = Literal["national", "provincial", "department", "followup"]
KINDS: tuple[str, ...] = ("national", "provincial", "department", "followup")
EARLIEST_YEAR, LATEST_YEAR = 2000, 2199  # far from both ends of datetime's range (years 1–9999)
MAX_CONFERENCES = 500  # in one source (the config, one cmd/schedule); a venue has a few a week
MAX_TITLE = 256


class Conference(BaseModel):
    """One scheduled conference, as `[[conference]]` in the config, an .ics event or cmd/schedule."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=128, description="Stable id; events during it carry it.")
    title: str = Field(default="", max_length=MAX_TITLE, description="e.g. 全省安全生产电视电话会议")
    kind: ConferenceKind = Field(description="national, provincial, department or followup.")
    start: AwareDatetime = Field(
        description=f"RFC 3339 or a TOML datetime, with its UTC offset; in the years {EARLIEST_YEAR}–{LATEST_YEAR}."
    )
    duration_min: int = Field(default=60, ge=1, le=24 * 60, description="Planned duration in minutes.")
    far_end: str | None = Field(
        default=None, max_length=256, description="MCU address or number the venue dials or is dialled from."
    )

    @field_validator("id")
    @classmethod
    def _printable(cls, value: str) -> str:
        if any(ch in value for ch in "/#+") or not value.isprintable():
            raise ValueError("must be printable and contain no '/', '#' or '+'")
        return value

    @field_validator("start")
    @classmethod
    def _in_sane_years(cls, value: datetime) -> datetime:
        # The year as written (no arithmetic: converting year 1 or 9999 to UTC may itself overflow).
        if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
            raise ValueError(f"must be in the years {EARLIEST_YEAR}–{LATEST_YEAR}, not {value.year}")
        return value

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.duration_min)
