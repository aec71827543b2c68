"""atheris harness: the .ics schedule. Any bytes through `read_ics` give conferences and problems,
or IcsError; what is read is a Conference with a start in 2000–2199 and a positive duration."""

from __future__ import annotations

import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import atheris

from fuzz.harness import OURS, run

with atheris.instrument_imports(include=OURS):
    from contract.schedule_ics import IcsError, read_ics


FILE = Path(tempfile.mkdtemp(prefix="fuzz-ics-")) / "schedule.ics"
ZONE = ZoneInfo("Asia/Shanghai")


def seeds() -> list[bytes]:
    event = (
        "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART;TZID=Asia/Shanghai:20261203T090000\r\nDURATION:PT90M\r\n"
        "SUMMARY:全省视频会议\r\nLOCATION:10.1.1.10\r\nCATEGORIES:NATIONAL\r\nBEGIN:VALARM\r\nTRIGGER:-PT15M\r\n"
        "END:VALARM\r\nEND:VEVENT\r\n"
    )
    body = "".join(event.format(uid=f"sheng-{n}") for n in range(3))
    return [f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//fuzz//EN\r\n{body}END:VCALENDAR\r\n".encode()]


def one_input(data: bytes) -> None:
    FILE.write_bytes(data)
    try:
        conferences, _problems = read_ics(FILE, ZONE)
    except IcsError:
        return
    for conference in conferences:
        if not (2000 <= conference.start.year <= 2199 and conference.duration_min >= 1):
            raise AssertionError(f"read a conference the timeline cannot hold: {conference!r}")


if __name__ == "__main__":
    run(seeds, one_input)
