"""Reading the schedule `venue-hub schedule push` sends: TOML `[[conference]]` and .ics, refused whole
when any entry is bad (with where and why), so a push never goes out half right."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hub.schedule.read import ScheduleFileError, read_schedule, wire

SHANGHAI = ZoneInfo("Asia/Shanghai")
ICS = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:2026-prov-07
SUMMARY:全省安全生产电视电话会议
DTSTART;TZID=Asia/Shanghai:20260310T090000
DTEND;TZID=Asia/Shanghai:20260310T103000
LOCATION:10.1.0.10
CATEGORIES:national
END:VEVENT
BEGIN:VEVENT
UID:2026-dept-02
SUMMARY:部门会议
DTSTART:20260311T140000
DURATION:PT45M
X-VENUE-KIND:department
END:VEVENT
END:VCALENDAR
"""


def test_toml_conferences_as_cmd_schedule_carries_them(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        '[[conference]]\nid = "c1"\ntitle = "全省会议"\nkind = "provincial"\n'
        'start = 2026-03-10T09:00:00+08:00\nduration_min = 90\nfar_end = "10.1.0.10"\n',
        encoding="utf-8",
    )
    (conference,) = read_schedule(path, SHANGHAI)
    assert wire(conference) == {
        "id": "c1",
        "title": "全省会议",
        "kind": "provincial",
        "start": "2026-03-10T09:00:00+08:00",
        "duration_min": 90,
        "far_end": "10.1.0.10",
    }


def test_ics_events_become_conferences(tmp_path: Path) -> None:
    path = tmp_path / "s.ics"
    path.write_text(ICS, encoding="utf-8")
    national, department = read_schedule(path, SHANGHAI)
    assert (national.id, national.kind, national.duration_min, national.far_end) == (
        "2026-prov-07",
        "national",
        90,
        "10.1.0.10",
    )
    assert national.start == datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
    # A floating time is taken in the --timezone given.
    assert department.start == datetime(2026, 3, 11, 14, 0, tzinfo=SHANGHAI) and department.duration_min == 45
    assert department.kind == "department" and department.start.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("a.toml", '[[conference]]\nid = "c1"\nkind = "provincial"\nstart = 2026-03-10T09:00:00\n', "a.toml:1: start"),
        ("b.toml", '[[conference]]\nid = "c/1"\nkind = "provincial"\nstart = 2026-03-10T09:00:00Z\n', "no '/'"),
        ("c.toml", '[[conference]]\nid = "c1"\nkind = "party"\nstart = 2026-03-10T09:00:00Z\n', "kind"),
        ("d.toml", '[[conference]]\nid = "c1"\nkind = "national"\nstart = 2026-03-10T09:00:00Z\n' * 2, "listed twice"),
        ("e.toml", '[meeting]\nid = "c1"\n', "expected [[conference]] tables only"),
        ("f.ics", ICS.replace("DTSTART:20260311T140000", "DTSTART;VALUE=DATE:20260311"), "event 2026-dept-02"),
        ("g.ics", "not a calendar", "cannot read the calendar"),
    ],
)
def test_a_bad_entry_refuses_the_whole_file(tmp_path: Path, name: str, text: str, words: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScheduleFileError) as caught:
        read_schedule(path, SHANGHAI)
    assert any(words in problem for problem in caught.value.problems), caught.value.problems
