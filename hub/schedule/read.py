"""Read the conferences to push from a TOML file (`[[conference]]`, as the agent's config writes them)
or an iCalendar file (.ics, as calendar tools export conference notices).

The hub checks what it can before anything goes out — an office would rather hear "line 12: start has
no UTC offset" than have every venue refuse the push — but the venue agent stays the judge: it
validates the whole schedule again and refuses it whole (`cmd.bad_payload`) if any entry is bad.
Unlike the agent, which keeps the good events of a messy .ics, the hub refuses a file with any bad
event: a schedule is pushed whole, so it must be right whole.

The fields and their rules are `contract.conference.Conference`, the model the agent validates
`cmd/schedule` with: a conference the hub accepts is one the agent accepts (bar the agent's own
checks against its clock, such as its 400-day horizon).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from contract.conference import MAX_CONFERENCES, Conference
from contract.schedule_ics import IcsError, read_ics

MAX_FILE_BYTES = 2 * 1_048_576


class ScheduleFileError(Exception):
    """The file cannot be pushed; `problems` names each bad entry."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def wire(conference: Conference) -> dict[str, Any]:
    """The conference as `cmd/schedule` carries it (RFC 3339 start)."""
    return conference.model_dump(mode="json")


def _problem(where: str, exc: ValidationError) -> list[str]:
    return [
        f"{where}: {'.'.join(str(p) for p in e['loc']) or 'entry'}: {str(e['msg']).removeprefix('Value error, ')}"
        for e in exc.errors()
    ]


def _read_toml(text: str, path: Path) -> list[Conference]:
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
            conferences.append(Conference.model_validate(entry))
        except ValidationError as exc:
            problems += _problem(where, exc)
    if problems:
        raise ScheduleFileError(problems)
    return conferences


def _read_ics(path: Path, zone: ZoneInfo) -> list[Conference]:
    """The agent's own reader (contract/schedule_ics.py); but where the agent keeps the good events of
    a messy calendar, the hub refuses the file if any event is bad: a schedule is pushed whole."""
    try:
        conferences, problems = read_ics(path, zone)
    except IcsError as exc:
        raise ScheduleFileError([str(exc)]) from None
    if problems:
        raise ScheduleFileError([f"{path}: {problem}" for problem in problems])
    return conferences


def read_schedule(path: Path, zone: ZoneInfo) -> list[Conference]:
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
        conferences = _read_ics(path, zone)
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
