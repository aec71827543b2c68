"""The Art. 14 timeline with an injected clock: a whole day of a venue in milliseconds."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agent.schedule.timeline import CheckpointKind, Timeline, checkpoints
from contract.conference import Conference

ZONE = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=ZONE)


NATIONAL = Conference(id="gwy-1201", title="国务院电视电话会议", kind="national", start=at(2, 9), duration_min=60)
FOLLOWUP = Conference(id="sheng-1201-f", title="贯彻落实会议", kind="followup", start=at(2, 10), duration_min=30)
PROVINCIAL = Conference(
    id="sheng-1202", title="全省安全生产电视电话会议", kind="provincial", start=at(2, 14, 30), duration_min=60
)


def run_day(timeline: Timeline, start: datetime, end: datetime, step: timedelta = timedelta(minutes=1)):
    fired, skipped = [], []
    now = start
    while now <= end:
        due = timeline.due(now)
        fired += [(p.conference_id, p.kind, now) for p in due.run]
        skipped += [(p.conference_id, p.kind) for p, _ in due.skipped]
        now += step
    return fired, skipped


def test_checkpoints_follow_article_14():
    national = {p.kind: p.at for p in checkpoints(NATIONAL, ZONE)}
    assert national[CheckpointKind.POWER_ON_SELFTEST] == at(2, 7, 30)
    assert national[CheckpointKind.ROLLCALL_SELFTEST] == at(2, 8)
    assert national[CheckpointKind.SEATING_CHECK] == at(2, 8, 45)
    assert CheckpointKind.EVE_DEBUG_SELFTEST not in national
    provincial = {p.kind: p.at for p in checkpoints(PROVINCIAL, ZONE)}
    assert provincial[CheckpointKind.EVE_DEBUG_SELFTEST] == at(1, 15)  # 15:00 the day before
    assert provincial[CheckpointKind.ROLLCALL_SELFTEST] == at(2, 13, 30)
    assert provincial[CheckpointKind.MEETING_END] == at(2, 15, 30)
    assert CheckpointKind.POWER_ON_SELFTEST not in provincial


def test_a_whole_day_every_checkpoint_fires_once_at_its_time():
    timeline = Timeline([NATIONAL, FOLLOWUP, PROVINCIAL], ZONE)
    fired, skipped = run_day(timeline, at(1, 0), at(2, 23, 59))
    assert not skipped
    expected = [(p.conference_id, p.kind, p.at) for c in (NATIONAL, FOLLOWUP, PROVINCIAL) for p in checkpoints(c, ZONE)]
    assert sorted(fired, key=lambda f: (f[2], f[0])) == sorted(expected, key=lambda f: (f[2], f[0]))
    assert len({(f[0], f[1]) for f in fired}) == len(fired)  # once each


def test_started_late_runs_missed_pre_start_checks_at_once_unless_the_meeting_began():
    timeline = Timeline([NATIONAL, PROVINCIAL], ZONE)
    first = timeline.due(at(2, 8, 50))  # the agent comes up at 08:50: national starts at 09:00
    ran = {(p.conference_id, p.kind) for p in first.run}
    assert ("gwy-1201", CheckpointKind.POWER_ON_SELFTEST) in ran and (
        "gwy-1201",
        CheckpointKind.ROLLCALL_SELFTEST,
    ) in ran
    assert ("sheng-1202", CheckpointKind.EVE_DEBUG_SELFTEST) in ran  # its conference has not begun yet
    later = Timeline([NATIONAL], ZONE).due(at(2, 9, 20))  # up only after the start
    assert {p.kind for p in later.run} == {CheckpointKind.MEETING_START}
    assert {p.kind for p, _ in later.skipped} == {
        CheckpointKind.POWER_ON_SELFTEST,
        CheckpointKind.ROLLCALL_SELFTEST,
        CheckpointKind.SEATING_CHECK,
    }


def test_a_clock_jump_fires_each_checkpoint_once():
    timeline = Timeline([PROVINCIAL], ZONE)
    fired, _ = run_day(timeline, at(2, 13), at(2, 13, 40))
    jumped_back, _ = run_day(timeline, at(2, 12), at(2, 13, 40))  # NTP steps the clock back an hour
    jumped_ahead, skipped = run_day(timeline, at(2, 16), at(2, 16, 10), timedelta(minutes=5))
    assert [f[1] for f in fired] == [CheckpointKind.EVE_DEBUG_SELFTEST, CheckpointKind.ROLLCALL_SELFTEST]
    assert jumped_back == []  # nothing fires twice
    # Jumping past the start: the seating check is passed over, the meeting's record still completes.
    assert [f[1] for f in jumped_ahead] == [
        CheckpointKind.MEETING_START,
        CheckpointKind.MEETING_END,
        CheckpointKind.POST_MEETING_SUMMARY,
    ]
    assert skipped == [("sheng-1202", CheckpointKind.SEATING_CHECK)]


def test_overlapping_conferences_both_keep_their_checkpoints():
    second = Conference(id="bumen-1", kind="department", start=at(2, 9, 30), duration_min=60)
    timeline = Timeline([NATIONAL, second], ZONE)
    fired, skipped = run_day(timeline, at(2, 6), at(2, 12))
    assert not skipped
    assert {f[0] for f in fired if f[1] is CheckpointKind.MEETING_START} == {"gwy-1201", "bumen-1"}
    assert [c.id for c in timeline.current(at(2, 9, 45))] == ["gwy-1201", "bumen-1"]
    assert timeline.next_at(at(2, 12)) is None


def test_bad_conferences_are_refused_with_clear_errors():
    with pytest.raises(ValidationError, match="timezone"):
        Conference(id="x", kind="provincial", start=datetime(2026, 12, 2, 9, 0))  # no offset
    with pytest.raises(ValidationError, match="kind"):
        Conference(id="x", kind="weekly", start=at(2, 9))
    with pytest.raises(ValidationError, match="'/'"):
        Conference(id="a/b", kind="national", start=at(2, 9))


def test_schedule_cli_lists_conferences_and_checkpoints(tmp_path):
    from sim.venue import write_config

    extra = """
[[conference]]
id = "sheng-2099"
title = "全省会议"
kind = "provincial"
start = 2099-12-02T14:30:00+08:00
duration_min = 120
far_end = "10.0.0.1"
"""
    config = write_config(tmp_path, "mqtt://127.0.0.1:1", extra=extra)
    result = subprocess.run(
        [sys.executable, "-m", "agent", "schedule", "-c", str(config), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    [conference] = json.loads(result.stdout)
    assert conference["id"] == "sheng-2099" and conference["over_art3_limit"] is True
    kinds = [p["kind"] for p in conference["checkpoints"]]
    assert kinds == [
        "eve_debug_selftest",
        "rollcall_selftest",
        "seating_check",
        "meeting_start",
        "meeting_end",
        "post_meeting_summary",
    ]
    assert conference["checkpoints"][0]["at"] == "2099-12-01T15:00:00+08:00"


ICS = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//venue-agent test//EN\r
BEGIN:VEVENT\r
UID:sheng-ics-1\r
SUMMARY:全省防汛工作电视电话会议\r
DTSTART;TZID=Asia/Shanghai:20991202T143000\r
DTEND;TZID=Asia/Shanghai:20991202T153000\r
LOCATION:10.1.1.10\r
CATEGORIES:provincial\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:gwy-ics-2\r
SUMMARY:国务院常务会议传达\r
DTSTART:20991203T010000Z\r
DURATION:PT45M\r
X-VENUE-KIND:national\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:allday-3\r
SUMMARY:全天活动\r
DTSTART;VALUE=DATE:20991204\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_conferences_from_an_ics_file(tmp_path):
    from contract.schedule_ics import read_ics

    path = tmp_path / "conferences.ics"
    path.write_text(ICS, encoding="utf-8")
    conferences, problems = read_ics(path, ZONE)
    by_id = {c.id: c for c in conferences}
    assert by_id["sheng-ics-1"].kind == "provincial" and by_id["sheng-ics-1"].duration_min == 60
    assert by_id["sheng-ics-1"].far_end == "10.1.1.10"
    assert by_id["gwy-ics-2"].kind == "national" and by_id["gwy-ics-2"].duration_min == 45
    assert by_id["gwy-ics-2"].start.astimezone(ZONE).hour == 9
    assert len(problems) == 1 and "allday-3" in problems[0] and "no start time" in problems[0]
    # The CLI merges the file with [[conference]] and warns about what it left out.
    from sim.venue import write_config

    config = write_config(tmp_path / "v", "mqtt://127.0.0.1:1", extra=f'\n[schedule]\nics_file = "{path}"\n')
    result = subprocess.run(
        [sys.executable, "-m", "agent", "schedule", "-c", str(config), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert [c["id"] for c in json.loads(result.stdout)] == ["sheng-ics-1", "gwy-ics-2"]
    assert "allday-3" in result.stderr
    (tmp_path / "broken.ics").write_text("this is not a calendar")
    from contract.schedule_ics import IcsError

    with pytest.raises(IcsError, match=r"broken\.ics"):
        read_ics(tmp_path / "broken.ics", ZONE)


def test_conference_starts_are_bounded_so_every_checkpoint_is_representable():
    from datetime import timezone

    for start in ("0001-01-01T00:10:00+08:00", "9999-12-31T23:30:00-08:00", "1999-12-31T23:59:00+00:00"):
        with pytest.raises(ValidationError, match="years 2000–2199"):
            Conference(id="x", kind="national", start=start)
    # The extremes that are accepted: every checkpoint, in any zone, is a real datetime.
    earliest = Conference(id="a", kind="provincial", start=datetime(2000, 1, 1, tzinfo=timezone(timedelta(hours=23))))
    latest = Conference(
        id="b",
        kind="national",
        start=datetime(2199, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-23))),
        duration_min=1440,
    )
    for zone in (ZONE, ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Etc/GMT+12")):
        timeline = Timeline([earliest, latest], zone)
        assert len(timeline.points) == 6 + 6
        assert timeline.next_at(datetime(1999, 1, 1, tzinfo=ZONE)) == timeline.points[0].at
        due = timeline.due(datetime(2201, 1, 1, tzinfo=ZONE))
        assert len(due.run) + len(due.skipped) == 6 + 6 and timeline.current(latest.start) == [latest]


def ics(*events: str) -> bytes:
    body = "".join(f"BEGIN:VEVENT\r\n{event}END:VEVENT\r\n" for event in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n{body}END:VCALENDAR\r\n".encode()


def test_hostile_ics_events_are_reported_by_uid_and_the_others_kept(tmp_path):
    from contract.schedule_ics import read_ics

    path = tmp_path / "conferences.ics"
    path.write_bytes(
        ics(
            "UID:truncated\r\nDTSTART:2027120\r\n",
            "UID:y9999\r\nDTSTART:99991231T235959Z\r\n",
            "UID:y1\r\nDTSTART:00010101T000500\r\n",
            "UID:backwards\r\nDTSTART:20991202T143000Z\r\nDTEND:20991202T133000Z\r\n",
            "UID:bad-end\r\nDTSTART:20991202T143000Z\r\nDTEND:2099\r\n",
            "UID:forever\r\nDTSTART:20991202T143000Z\r\nDURATION:P99999999D\r\n",
            "DTSTART:20991202T143000Z\r\n",
            "UID:good\r\nDTSTART:20991203T010000Z\r\nSUMMARY:" + "长" * 400 + "\r\n",
            "UID:good\r\nDTSTART:20991204T010000Z\r\n",
        )
    )
    conferences, problems = read_ics(path, ZONE)
    assert [c.id for c in conferences] == ["good"] and len(conferences[0].title) == 256
    text = "\n".join(problems)
    for uid, reason in (
        ("truncated", "DTSTART '2027120' is not a date-time"),
        ("y9999", "years 2000–2199, not 9999"),
        ("y1", "not 1"),
        ("backwards", "ends before it starts"),
        ("bad-end", "DTEND '2099' is not a date-time"),
        ("forever", "duration_min"),
        ("(no UID)", "no UID"),
        ("good", "repeats"),
    ):
        assert any(f"event {uid}: " in line and reason in line for line in problems), (uid, reason, text)
    assert all(line.startswith(f"{path}: ") for line in problems)


def test_an_ics_file_that_cannot_be_read_raises_only_ics_error(tmp_path):
    import os

    from contract.schedule_ics import MAX_ICS_BYTES, IcsError, read_ics

    cases = {
        "garbage.ics": b"\xff\xfe\x00 garbage \x00" * 100,
        "empty.ics": b"",
        "two.ics": ics() + ics(),
        "huge.ics": ics("UID:a\r\nDTSTART:20991203T010000Z\r\n") + b" " * (MAX_ICS_BYTES + 1),
        "nested.ics": b"BEGIN:VCALENDAR\r\n"
        + b"BEGIN:VEVENT\r\n" * 5000
        + b"END:VEVENT\r\n" * 5000
        + b"END:VCALENDAR\r\n",
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
    os.mkfifo(tmp_path / "fifo.ics")
    cases["fifo.ics"] = b""
    reasons = {}
    for name in cases:
        try:
            conferences, problems = read_ics(tmp_path / name, ZONE)
        except IcsError as exc:
            reasons[name] = str(exc)
        else:
            reasons[name] = f"read: {len(conferences)} conference(s), problems {problems}"
    assert "too large" in reasons["huge.ics"] and "FIFO" in reasons["fifo.ics"], reasons
    for name in ("garbage.ics", "empty.ics", "two.ics"):
        assert reasons[name].startswith(f"{tmp_path / name}: cannot read the calendar"), reasons[name]
    assert "nested.ics" in reasons["nested.ics"], reasons  # read, or refused with a reason: never a crash


@settings(max_examples=120, deadline=None)
@given(
    cuts=st.lists(st.tuples(st.integers(min_value=0, max_value=len(ICS)), st.integers(0, 12)), max_size=4),
    noise=st.binary(max_size=40),
)
def test_a_damaged_calendar_gives_conferences_problems_or_ics_error_and_nothing_else(cuts, noise):
    """Truncated values, lost lines, stray bytes: read_ics answers with what it could read, or IcsError."""
    import tempfile
    from pathlib import Path

    from contract.schedule_ics import IcsError, read_ics

    data = ICS.encode()
    for at, length in cuts:
        data = data[:at] + data[at + length :]
    data = data[: len(data) // 2] + noise + data[len(data) // 2 :]
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "damaged.ics"
        path.write_bytes(data)
        try:
            conferences, problems = read_ics(path, ZONE)
        except IcsError as exc:
            assert str(exc).startswith(f"{path}: cannot read the calendar")
            return
    for conference in conferences:  # whatever was read runs on a timeline
        timeline = Timeline([conference], ZONE)
        timeline.due(conference.end + timedelta(days=1))
        assert all(p.key in timeline.fired for p in timeline.points)
    assert all(problem.startswith(f"{path}: ") for problem in problems)
