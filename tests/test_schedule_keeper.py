"""The schedule keeper against real files: a poisoned push is refused before anything is stored,
a poisoned stored schedule is set aside with a notice, and the timeline of anything accepted works
over the whole span of every conference (hypothesis, bounded)."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.config import parse_config
from agent.messages import AGENT_MESSAGES
from agent.schedule.keeper import MAX_CONFERENCES, PUSH_HORIZON, ScheduleKeeper
from agent.schedule.timeline import SUMMARY_DELAY

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
CONFIG = """
[venue]
province = "jilin"
prefecture = "changchun"
county = "nongan"
id = "main"
name = "农安县政府视频会议室"

[broker]
url = "mqtt://127.0.0.1:1883"

[agent]
state_dir = "{state_dir}"
"""


def settings_for(state_dir: Path, extra: str = ""):
    return parse_config(CONFIG.format(state_dir=state_dir) + extra, Path("venue.toml"))


def rendered(notice: tuple[str, dict]) -> str:
    """The event text the daemon will raise for a notice: the code exists and its fields fill it."""
    message = AGENT_MESSAGES.render(notice[0], **notice[1])
    assert message.zh and message.en
    return message.en


def conference(number: int, start: datetime = NOW + timedelta(days=1), **fields: object) -> dict:
    return {"id": f"c{number}", "kind": "provincial", "start": start.isoformat(), "duration_min": 60} | fields


def keeper(state_dir: Path, extra: str = "", now: datetime = NOW) -> ScheduleKeeper:
    return ScheduleKeeper(settings_for(state_dir, extra), clock=lambda: now)


POISONS = {
    "year 9999 near midnight": [
        conference(1, start=datetime(9999, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-8))))
    ],
    "year 1 near midnight": [{"id": "c1", "kind": "national", "start": "0001-01-01T00:10:00+08:00"}],
    "too many": [conference(n) for n in range(MAX_CONFERENCES + 1)],
    "beyond the horizon": [conference(1, start=NOW + PUSH_HORIZON + timedelta(days=1))],
    "ids repeat": [conference(1), conference(1)],
    "not a list": {"c1": conference(1)},
}


@pytest.mark.parametrize("poison", POISONS.values(), ids=POISONS.keys())
def test_a_poisoned_push_is_refused_and_nothing_is_stored(tmp_path, poison):
    schedule = keeper(tmp_path)
    accepted = schedule.push({"conferences": [conference(7)]})
    stored = (tmp_path / "pushed_schedule.json").read_bytes()
    with pytest.raises(ValueError, match="schedule refused, the previous one stays"):
        schedule.push({"conferences": poison})
    assert (tmp_path / "pushed_schedule.json").read_bytes() == stored
    assert list(schedule.timeline.conferences) == ["c7"] and accepted == {
        "accepted": 1,
        "office": "hub",
        "offices": 1,
        "conferences": 1,
    }
    again = keeper(tmp_path)  # and a restart keeps the good one
    assert list(again.timeline.conferences) == ["c7"] and again.take_notices() == []


def test_refusals_say_why_and_stay_short(tmp_path):
    schedule = keeper(tmp_path)
    reasons = {}
    for name, poison in POISONS.items():
        with pytest.raises(ValueError) as caught:
            schedule.push({"conferences": poison})
        reasons[name] = str(caught.value)
    assert "years 2000–2199, not 9999" in reasons["year 9999 near midnight"]
    assert "not 1" in reasons["year 1 near midnight"]
    assert f"{MAX_CONFERENCES + 1} conferences, at most {MAX_CONFERENCES}" in reasons["too many"]
    assert "400-day horizon" in reasons["beyond the horizon"] and "c1" in reasons["beyond the horizon"]
    assert "ids repeat: c1" in reasons["ids repeat"] and "must be a list" in reasons["not a list"]
    many_bad = [{"id": f"x{n}", "kind": "weekly", "start": "2026-12-02T09:00:00+08:00"} for n in range(300)]
    with pytest.raises(ValueError) as caught:
        schedule.push({"conferences": many_bad})
    assert "and 295 more" in str(caught.value) and len(str(caught.value)) < 2000


STORED_POISONS = {
    "year 9999": json.dumps([conference(1, start=datetime(9999, 12, 31, 23, 59, tzinfo=UTC))]).encode(),
    "not JSON": b'[{"id": "c1", "kind": "prov',
    "not UTF-8": b"\xff\xfe[]",
    "nested too deeply": b"[" * 100_000 + b"]" * 100_000,
    "an object": b'{"conferences": []}',
    "too many": json.dumps([conference(n) for n in range(MAX_CONFERENCES + 1)]).encode(),
}


@pytest.mark.parametrize("content", STORED_POISONS.values(), ids=STORED_POISONS.keys())
def test_a_poisoned_stored_schedule_is_set_aside_with_a_notice(tmp_path, content):
    (tmp_path / "pushed_schedule.json").write_bytes(content)
    schedule = keeper(
        tmp_path, '\n[[conference]]\nid = "local"\nkind = "national"\nstart = 2026-12-03T09:00:00+08:00\n'
    )
    assert list(schedule.timeline.conferences) == ["local"]  # the config's conference is still there
    [notice] = schedule.take_notices()
    code, fields = notice
    assert code == "schedule.stored_rejected" and fields["path"] == str(tmp_path / "pushed_schedule.json")
    assert "set aside as" in rendered(notice)
    [moved] = tmp_path.glob("pushed_schedule.json.rejected-*")
    assert fields["moved"] == str(moved) and moved.read_bytes() == content and fields["error"]
    assert not (tmp_path / "pushed_schedule.json").exists()
    assert schedule.take_notices() == []  # handed over once
    assert keeper(tmp_path).take_notices() == []  # the next start is clean


def test_a_stored_schedule_that_is_not_a_regular_file_is_set_aside(tmp_path):
    os.mkfifo(tmp_path / "pushed_schedule.json")
    schedule = keeper(tmp_path)  # would block forever on open() if it read the FIFO
    [(code, fields)] = schedule.take_notices()
    assert code == "schedule.stored_rejected" and "FIFO" in fields["error"]


def test_an_unreadable_fired_record_starts_afresh_with_a_notice(tmp_path):
    (tmp_path / "timeline_fired.json").write_text('[["c1", "meeting_start"], [1, 2]]')
    schedule = keeper(tmp_path)
    [notice] = schedule.take_notices()
    code, fields = notice
    assert code == "schedule.fired_unreadable" and "pairs" in fields["error"] and rendered(notice)
    assert schedule.timeline.fired == set()
    schedule.push({"conferences": [conference(1, start=NOW - timedelta(minutes=30))]})
    schedule.timeline.due(NOW)
    schedule.fired_changed()
    assert keeper(tmp_path).timeline.fired == schedule.timeline.fired != set()


def test_ics_problems_become_notices(tmp_path):
    ics = tmp_path / "conferences.ics"
    ics.write_bytes(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"
        b"BEGIN:VEVENT\r\nUID:truncated\r\nDTSTART:2027120\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nUID:good\r\nDTSTART:20261203T010000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    schedule = keeper(tmp_path, f'\n[schedule]\nics_file = "{ics}"\n')
    assert list(schedule.timeline.conferences) == ["good"]
    [notice] = schedule.take_notices()
    code, fields = notice
    assert code == "schedule.ics_events_skipped" and fields["count"] == 1 and "truncated" in fields["problems"]
    assert "1 event(s)" in rendered(notice)
    ics.unlink()
    [notice] = keeper(tmp_path, f'\n[schedule]\nics_file = "{ics}"\n').take_notices()
    code, fields = notice
    assert code == "schedule.ics_unreadable" and "no such file" in fields["error"] and rendered(notice)


def test_conferences_long_ended_stay_off_the_timeline(tmp_path):
    schedule = keeper(tmp_path)
    old = conference(1, start=NOW - timedelta(days=3))
    recent = conference(2, start=NOW - timedelta(hours=3))
    result = schedule.push({"conferences": [old, recent]})
    assert result == {"accepted": 2, "office": "hub", "offices": 1, "conferences": 1} and list(
        schedule.timeline.conferences
    ) == ["c2"]
    fired = schedule.timeline.due(NOW)
    assert {p.conference_id for p in fired.run} == {"c2"}  # no late start/end/summary of a meeting days ago


# --- property: whatever the hub pushes is refused with ValueError or runs ------------------------------

OFFSETS = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
STARTS = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=OFFSETS),
    st.datetimes(min_value=datetime(1999, 12, 30), max_value=datetime(2200, 1, 2), timezones=OFFSETS),
    st.datetimes(min_value=datetime(2199, 12, 31), max_value=datetime(2199, 12, 31, 23, 59), timezones=OFFSETS),
)
ENTRIES = st.fixed_dictionaries(
    {
        "id": st.one_of(st.text(max_size=10), st.sampled_from(["c1", "c2", "a/b", ""])),
        "kind": st.sampled_from(["national", "provincial", "department", "followup", "weekly"]),
        "start": st.one_of(STARTS.map(lambda d: d.isoformat()), st.sampled_from(["2027120", "", "9999-99-99"])),
        "duration_min": st.integers(min_value=-5, max_value=2000),
    }
)


@settings(max_examples=150, deadline=None)
@given(entries=st.lists(ENTRIES, max_size=4), lead=st.integers(min_value=0, max_value=300))
def test_any_push_is_refused_or_gives_a_timeline_that_works_over_its_whole_span(entries, lead):
    with tempfile.TemporaryDirectory() as directory:
        check_push(Path(directory), entries, lead)


def check_push(state_dir: Path, entries: list[dict], lead: int) -> None:
    # The clock stands shortly before the first start (if that is a date at all), so the horizon lets it in.
    try:
        first = datetime.fromisoformat(entries[0]["start"]).astimezone(UTC) - timedelta(days=lead)
        now = first if datetime(2001, 1, 1, tzinfo=UTC) < first < datetime(2198, 1, 1, tzinfo=UTC) else NOW
    except (IndexError, ValueError, OverflowError):
        now = NOW
    schedule = keeper(state_dir, now=now)
    try:
        schedule.push({"conferences": entries})
    except ValueError:
        assert not (state_dir / "pushed_schedule.json").exists()
        return
    timeline = schedule.timeline
    for conference_ in timeline.conferences.values():
        moments = [conference_.start - timedelta(days=2), conference_.start, conference_.end]
        moments += [conference_.end + SUMMARY_DELAY, conference_.end + timedelta(days=2)]
        for moment in moments:
            timeline.due(moment)
            timeline.next_at(moment)
            timeline.current(moment)
    assert all(p.key in timeline.fired for p in timeline.points)  # two days after the end, everything fired
    restarted = keeper(state_dir, now=now)  # what was stored reads back as it was
    assert restarted.pushed == schedule.pushed and restarted.take_notices() == []


PROVINCE, PREFECTURE = "vc/jilin/#", "vc/jilin/changchun/#"


def test_each_office_replaces_only_its_own_conferences(tmp_path):
    """The province's push keeps the prefecture's conferences, and the other way round (Art. 9: both
    offices push to a county venue); an empty push withdraws an office's; a restart keeps every slot."""
    schedule = keeper(tmp_path)
    schedule.push({"conferences": [conference(1), conference(2)], "office": PROVINCE})
    result = schedule.push({"conferences": [conference(3)], "office": PREFECTURE})
    assert result == {"accepted": 1, "office": PREFECTURE, "offices": 2, "conferences": 3}
    schedule.push({"conferences": [conference(4)], "office": PROVINCE})  # the province's new week
    assert sorted(schedule.timeline.conferences) == ["c3", "c4"]
    restarted = keeper(tmp_path)
    assert sorted(restarted.timeline.conferences) == ["c3", "c4"] and restarted.take_notices() == []
    assert restarted.offices.keys() == {PROVINCE, PREFECTURE}
    restarted.push({"conferences": [], "office": PREFECTURE})
    assert sorted(restarted.timeline.conferences) == ["c4"] and restarted.offices.keys() == {PROVINCE}


def test_a_stored_schedule_of_the_earlier_form_is_read_as_the_hub_slot(tmp_path):
    (tmp_path / "pushed_schedule.json").write_text(json.dumps([conference(5)]), encoding="utf-8")
    schedule = keeper(tmp_path)
    assert schedule.offices.keys() == {"hub"} and list(schedule.timeline.conferences) == ["c5"]
    schedule.push({"conferences": [conference(6)], "office": PROVINCE})
    assert sorted(schedule.timeline.conferences) == ["c5", "c6"]


@pytest.mark.parametrize(
    ("args", "why"),
    [
        ({"conferences": [], "office": 7}, "must be a string"),
        ({"conferences": [], "office": ""}, "1–256 characters"),
        ({"conferences": [], "office": "vc/\x00"}, "printable"),
        ({"conferences": [], "office": PROVINCE, "extra": 1}, "optionally"),
    ],
)
def test_a_bad_office_is_refused_and_nothing_changes(tmp_path, args, why):
    schedule = keeper(tmp_path)
    schedule.push({"conferences": [conference(1)], "office": PROVINCE})
    stored = (tmp_path / "pushed_schedule.json").read_bytes()
    with pytest.raises(ValueError, match=why):
        schedule.push(args)
    assert (tmp_path / "pushed_schedule.json").read_bytes() == stored


def test_more_offices_than_a_venue_has_above_it_are_refused(tmp_path):
    from agent.schedule.offices import MAX_OFFICES

    schedule = keeper(tmp_path)
    for number in range(MAX_OFFICES):
        schedule.push({"conferences": [conference(number)], "office": f"office-{number}"})
    with pytest.raises(ValueError, match=f"at most {MAX_OFFICES} offices"):
        schedule.push({"conferences": [conference(99)], "office": "one-too-many"})
    assert len(schedule.offices) == MAX_OFFICES
