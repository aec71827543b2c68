"""Fuzz: the .ics schedule reader (contract.schedule_ics.read_ics) on arbitrary bytes and on calendars
whose events are built from valid and broken properties of every kind.

The promise (docs/schedule.md): the conferences that could be read and one problem per event that
could not, or IcsError when the file cannot be read at all — nothing else. Every VEVENT is
accounted for exactly once (read, or reported by its UID), and what was read is a Conference the
timeline accepts (a start in 2000–2199, at least a minute long, a unique id).
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from agent.schedule.timeline import Timeline
from contract.schedule_ics import MAX_ICS_EVENTS, IcsError, read_ics
from fuzz.budget import examples

ZONE = ZoneInfo("Asia/Shanghai")
FUZZ = settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


def mostly(usual: st.SearchStrategy, odd: st.SearchStrategy) -> st.SearchStrategy:
    """`usual` three times in four, else `odd`: a calendar of nothing but broken events reads nothing,
    and 'every event reported' would then hold without ever reading one."""
    return st.sampled_from([True, True, True, False]).flatmap(lambda pick: usual if pick else odd)


VALID_DATE_TIMES = st.builds(
    lambda d, h, m, z: f"{d:%Y%m%d}T{h:02d}{m:02d}00{z}",
    st.dates(min_value=date(2000, 1, 1), max_value=date(2199, 12, 30)),
    st.integers(0, 23),
    st.integers(0, 59),
    st.sampled_from(["", "Z"]),
)
ODD_DATE_TIMES = st.one_of(
    st.builds(
        lambda y, mo, d, h, mi: f"{y:04d}{mo:02d}{d:02d}T{h:02d}{mi:02d}00",
        st.sampled_from([1, 1899, 1999, 2000, 2026, 2199, 2200, 9999]),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 25),
        st.integers(0, 61),
    ),
    st.sampled_from(["20261203T090000", "20261203T090000Z", "20261203", "2026-12-03T09:00:00", "T0900", ""]),
    TEXT,
)
DATE_TIMES = mostly(VALID_DATE_TIMES, ODD_DATE_TIMES)
MOMENT_PARAMS = mostly(
    st.sampled_from(["", ";TZID=Asia/Shanghai"]),
    st.sampled_from([";TZID=Bogus/Zone", ";TZID=", ";VALUE=DATE", ";VALUE=DATE-TIME", ";X-ODD=1"]),
)
DURATIONS = mostly(
    st.sampled_from(["PT1H", "PT90M", "P1D", "PT45M"]),
    st.one_of(st.sampled_from(["PT0S", "-PT1H", "P99999W", "PT", "P", "1H", ""]), TEXT),
)
# VALARM TRIGGER: a malformed one makes icalendar refuse the whole file (see docs/fuzzing.md), so
# it is kept valid here, where the per-event promise is checked.
TRIGGERS = st.sampled_from(["-PT15M", "PT0S", "-P1D"])


@st.composite
def vevent(draw: st.DrawFn, uids: list[str]) -> list[str]:
    lines = ["BEGIN:VEVENT"]
    uid = draw(mostly(st.sampled_from(uids), st.one_of(TEXT, st.just(""))))
    if draw(st.integers(0, 9)):
        lines.append(f"UID:{uid}")
    if draw(st.integers(0, 9)):
        lines.append(f"DTSTART{draw(MOMENT_PARAMS)}:{draw(DATE_TIMES)}")
    ending = draw(st.sampled_from(["DTEND", "DURATION", "both", "none"]))
    if ending in ("DTEND", "both"):
        lines.append(f"DTEND{draw(MOMENT_PARAMS)}:{draw(DATE_TIMES)}")
    if ending in ("DURATION", "both"):
        lines.append(f"DURATION:{draw(DURATIONS)}")
    for name in ("SUMMARY", "LOCATION", "X-VENUE-KIND", "CATEGORIES", "RRULE", "DESCRIPTION"):
        if draw(st.booleans()):
            value = draw(st.one_of(TEXT, st.sampled_from(["national", "FOLLOWUP,x", "FREQ=DAILY", "省政府会议"])))
            lines.append(f"{name}:{value}")
    if draw(st.booleans()):
        lines += ["BEGIN:VALARM", f"TRIGGER:{draw(TRIGGERS)}", "END:VALARM"]
    lines.append("END:VEVENT")
    return lines


@st.composite
def calendar(draw: st.DrawFn) -> tuple[bytes, int]:
    """A calendar text (folded at random places) and the number of VEVENTs it holds."""
    uids = ["sheng-1", "sheng-2", "a@b", "sheng-4", "county-5"]
    events = draw(st.lists(vevent(uids), max_size=6))
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//fuzz//EN"]
    for body in events:
        lines += body
    lines.append("END:VCALENDAR")
    folded = []
    for line in lines:
        if line and draw(st.integers(0, 7)) == 0:
            at = draw(st.integers(1, max(1, len(line))))
            line = line[:at] + "\r\n " + line[at:]
        folded.append(line)
    ending = draw(st.sampled_from(["\r\n", "\n"]))
    return ending.join(folded).encode("utf-8"), len(events)


def _read(data: bytes) -> tuple[Path, list, list[str]] | None:
    """read_ics on a real file holding `data`; None for IcsError (checked to name the file)."""
    directory = tempfile.mkdtemp(prefix="fuzz-ics-")
    path = Path(directory) / "schedule.ics"
    path.write_bytes(data)
    try:
        conferences, problems = read_ics(path, ZONE)
    except IcsError as exc:
        assert str(exc).startswith(f"{path}: cannot read the calendar"), exc
        return None
    finally:
        path.unlink()
        Path(directory).rmdir()
    assert all(problem.startswith(f"{path}: ") for problem in problems), problems
    return path, conferences, problems


def _runs_on_a_timeline(conferences: list) -> None:
    assert len({conference.id for conference in conferences}) == len(conferences)
    for conference in conferences:
        assert 2000 <= conference.start.year <= 2199 and conference.start.tzinfo is not None
        assert conference.duration_min >= 1
    if conferences:
        timeline = Timeline(conferences, ZONE)
        timeline.due(max(conference.end for conference in conferences) + timedelta(days=1))


@given(calendar())
@FUZZ
def test_every_event_is_read_or_reported(generated: tuple[bytes, int]) -> None:
    data, count = generated
    outcome = _read(data)
    if outcome is None:
        event("IcsError")
        return
    path, conferences, problems = outcome
    event(f"{len(conferences)} read, {len(problems)} reported")
    per_event = [problem for problem in problems if problem.startswith(f"{path}: event ")]
    assert count <= MAX_ICS_EVENTS
    assert len(conferences) + len(per_event) == count, (conferences, problems)
    _runs_on_a_timeline(conferences)


@given(st.binary(max_size=500))
@settings(max_examples=examples(150), deadline=None)
def test_any_bytes(data: bytes) -> None:
    outcome = _read(data)
    if outcome is not None:
        _runs_on_a_timeline(outcome[1])


@given(calendar(), st.binary(min_size=1, max_size=20), st.data())
@settings(max_examples=examples(100), deadline=None)
def test_stray_bytes_in_a_calendar(generated: tuple[bytes, int], noise: bytes, data: st.DataObject) -> None:
    calendar_bytes, _count = generated
    at = data.draw(st.integers(0, len(calendar_bytes)))
    outcome = _read(calendar_bytes[:at] + noise + calendar_bytes[at:])
    if outcome is not None:
        _runs_on_a_timeline(outcome[1])


def test_a_generated_well_formed_event_is_read() -> None:
    """The generator can make the readable case, so 'every event reported' cannot pass vacuously."""
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:sheng-1\r\nDTSTART;TZID=Asia/Shanghai:20261203T090000"
        "\r\nDURATION:PT90M\r\nSUMMARY:全省会议\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    outcome = _read(text.encode())
    assert outcome is not None
    _path, conferences, problems = outcome
    assert [c.id for c in conferences] == ["sheng-1"] and conferences[0].duration_min == 90 and not problems
