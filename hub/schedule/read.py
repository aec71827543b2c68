"""Read the conferences to push from a TOML file (`[[conference]]`, as the agent's config writes them)
or an iCalendar file (.ics, as calendar tools export conference notices).

The hub checks what it can before anything goes out — an office would rather hear "line 12: start has
no UTC offset" than have every venue refuse the push — but the venue agent stays the judge: it
validates the whole schedule again and refuses it whole (`cmd.bad_payload`) if any entry is bad.
Unlike the agent, which keeps the good events of a messy .ics, the hub refuses a file with any bad
event: a schedule is pushed whole, so it must be right whole.

The fields are the agent's `Conference` (docs/schedule.md): id, title, kind, start, duration_min,
far_end. (The agent's model lives in agent/timeline.py, which the hub may not import; this is the
same contract restated, and the agent's refusal is the test that they agree.)
"""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

KINDS = ("national", "provincial", "department", "followup")
MAX_FILE_BYTES = 2 * 1_048_576
MAX_CONFERENCES = 500  # what the agent accepts in one cmd/schedule


class ScheduleFileError(Exception):
    """The file cannot be pushed; `problems` names each bad entry."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class PushConference(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=128)
    title: str = Field(default="", max_length=256)
    kind: Literal["national", "provincial", "department", "followup"]
    start: AwareDatetime
    duration_min: int = Field(default=60, ge=1, le=24 * 60)
    far_end: str | None = Field(default=None, max_length=256)

    @field_validator("id")
    @classmethod
    def _printable(cls, value: str) -> str:
        if any(ch in value for ch in "/#+") or not value.isprintable():
            raise ValueError("must be printable and contain no '/', '#' or '+'")
        return value

    @field_validator("start")
    @classmethod
    def _sane_year(cls, value: datetime) -> datetime:
        if not 2000 <= value.year <= 2199:
            raise ValueError(f"must be in the years 2000–2199, not {value.year}")
        return value

    def wire(self) -> dict[str, Any]:
        """The conference as `cmd/schedule` carries it (RFC 3339 start)."""
        return self.model_dump(mode="json")


def _problem(where: str, exc: ValidationError) -> list[str]:
    return [
        f"{where}: {'.'.join(str(p) for p in e['loc']) or 'entry'}: {str(e['msg']).removeprefix('Value error, ')}"
        for e in exc.errors()
    ]


def _read_toml(text: str, path: Path) -> list[PushConference]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScheduleFileError([f"{path}: not valid TOML: {exc}"]) from None
    entries = data.get("conference")
    if not isinstance(entries, list) or set(data) - {"conference"}:
        raise ScheduleFileError([f"{path}: expected [[conference]] tables only"])
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if line.strip().startswith("[[conference]]")]
    conferences, problems = [], []
    for index, entry in enumerate(entries):
        where = f"{path}:{lines[index]}" if index < len(lines) else f"{path}: conference[{index}]"
        try:
            conferences.append(PushConference.model_validate(entry))
        except ValidationError as exc:
            problems += _problem(where, exc)
    if problems:
        raise ScheduleFileError(problems)
    return conferences


def _kind(event: Any) -> str:
    explicit = str(event.get("X-VENUE-KIND", "")).strip().lower()
    if explicit in KINDS:
        return explicit
    categories = event.get("CATEGORIES")
    for entry in categories if isinstance(categories, list) else [categories] if categories else []:
        for value in getattr(entry, "cats", [entry]):
            if str(value).strip().lower() in KINDS:
                return str(value).strip().lower()
    return "provincial"


def _ics_conference(event: Any, zone: ZoneInfo) -> PushConference:
    start = event.decoded("DTSTART") if "DTSTART" in event else None
    if not isinstance(start, datetime):
        raise ValueError("DTSTART is missing or is a date without a time")
    start = start if start.tzinfo is not None else start.replace(tzinfo=zone)
    if "DTEND" in event:
        end = event.decoded("DTEND")
        if not isinstance(end, datetime):
            raise ValueError("DTEND is not a date-time")
        duration = (end if end.tzinfo is not None else end.replace(tzinfo=zone)) - start
    elif "DURATION" in event:
        duration = event.decoded("DURATION")
    else:
        duration = timedelta(hours=1)
    if not isinstance(duration, timedelta) or duration <= timedelta(0):
        raise ValueError("it ends before it starts (or its DURATION is unreadable)")
    return PushConference(
        id=str(event.get("UID", "")).strip(),
        title=str(event.get("SUMMARY", ""))[:256],
        kind=_kind(event),  # type: ignore[arg-type]
        start=start,
        duration_min=max(1, round(duration.total_seconds() / 60)),
        far_end=str(event.get("LOCATION")) if event.get("LOCATION") else None,
    )


def _read_ics(data: bytes, path: Path, zone: ZoneInfo) -> list[PushConference]:
    import icalendar

    try:
        events = icalendar.Calendar.from_ical(data).walk("VEVENT")
    except Exception as exc:  # icalendar raises many kinds on malformed input
        raise ScheduleFileError([f"{path}: not a readable calendar: {type(exc).__name__}: {str(exc)[:120]}"]) from None
    conferences, problems = [], []
    for number, event in enumerate(events, start=1):
        uid = str(event.get("UID", "")).strip()
        where = f"{path}: event {uid[:80] or f'#{number} (no UID)'}"
        try:
            conferences.append(_ics_conference(event, zone))
        except ValidationError as exc:
            problems += _problem(where, exc)
        except Exception as exc:
            problems.append(f"{where}: {str(exc)[:160]}")
    if problems:
        raise ScheduleFileError(problems)
    return conferences


def read_schedule(path: Path, zone: ZoneInfo) -> list[PushConference]:
    """The conferences in `path` (.ics → iCalendar, else TOML); ScheduleFileError naming every problem."""
    try:
        if not path.is_file():
            raise ScheduleFileError([f"{path}: not a regular file (or missing)"])
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ScheduleFileError([f"{path}: larger than {MAX_FILE_BYTES} bytes"])
        data = path.read_bytes()
    except OSError as exc:
        raise ScheduleFileError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    if path.suffix.lower() == ".ics":
        conferences = _read_ics(data, path, zone)
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ScheduleFileError([f"{path}: not UTF-8 at byte {exc.start}"]) from None
        conferences = _read_toml(text, path)
    ids = [c.id for c in conferences]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ScheduleFileError([f"{path}: conference id(s) listed twice: {', '.join(repeated)}"])
    if not conferences:
        raise ScheduleFileError([f"{path}: no conferences"])
    if len(conferences) > MAX_CONFERENCES:
        raise ScheduleFileError([f"{path}: {len(conferences)} conferences; a venue accepts at most {MAX_CONFERENCES}"])
    return conferences
