"""Conferences from an iCalendar (.ics) file, as calendar tools export them.

Each VEVENT is a conference: UID → id, SUMMARY → title, DTSTART → start (a floating time is taken
in the schedule's time zone), DTEND or DURATION → duration, LOCATION → far end. The kind comes from
`X-VENUE-KIND` if present, else the first CATEGORIES value that is a kind, else `provincial`.
Recurring events are not expanded (conference notices are one-off).

The file is whatever a calendar tool (or a person) left there, so nothing in it may stop the
agent: an event that cannot be read — a truncated DTSTART, a start outside the years the
`Conference` model accepts, an end before the start — is reported with its UID and the reason
and the others are kept; a file that cannot be read at all (missing, not a regular file, larger
than `MAX_ICS_BYTES`, not a calendar) raises `IcsError` and nothing else.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
from pydantic import ValidationError

from contract.conference import KINDS, MAX_TITLE, Conference
from contract.small_file import MIB, UnreadableFile, read_small_file

MAX_ICS_BYTES = 2 * MIB  # thousands of events; a conference notice calendar holds a few dozen
MAX_ICS_EVENTS = 2000  # events read from one file; the rest are reported, not read
MAX_SHOWN = 128  # characters of a UID or a reason quoted in a problem


class IcsError(Exception):
    """The file cannot be read at all."""


class EventProblem(ValueError):
    """Why one event is left out."""


def _kind(event: icalendar.Event) -> str:
    explicit = str(event.get("X-VENUE-KIND", "")).strip().lower()
    if explicit in KINDS:
        return explicit
    categories = event.get("CATEGORIES")
    for entry in categories if isinstance(categories, list) else [categories] if categories else []:
        for value in getattr(entry, "cats", [entry]):
            if str(value).strip().lower() in KINDS:
                return str(value).strip().lower()
    return "provincial"


def _moment(event: icalendar.Event, name: str) -> datetime | date:
    """A decoded DTSTART/DTEND; icalendar hands back the raw text when it cannot parse the value."""
    value = event.decoded(name)
    if not isinstance(value, date):
        raise EventProblem(f"{name} {str(event.get(name, ''))[:40]!r} is not a date-time")
    return value


def _start(event: icalendar.Event, zone: ZoneInfo) -> datetime:
    if "DTSTART" not in event:
        raise EventProblem("it has no DTSTART")
    start = _moment(event, "DTSTART")
    if not isinstance(start, datetime):
        raise EventProblem("an all-day event has no start time")
    return start if start.tzinfo is not None else start.replace(tzinfo=zone)


def _duration(event: icalendar.Event, start: datetime, zone: ZoneInfo) -> timedelta:
    if "DTEND" in event:
        end = _moment(event, "DTEND")
        if not isinstance(end, datetime):
            raise EventProblem("DTEND is a date, DTSTART a date-time")
        duration = (end if end.tzinfo is not None else end.replace(tzinfo=zone)) - start
    elif "DURATION" in event:
        duration = event.decoded("DURATION")
        if not isinstance(duration, timedelta):
            raise EventProblem(f"DURATION {str(event.get('DURATION', ''))[:40]!r} is not a duration")
    else:
        return timedelta(hours=1)
    if duration <= timedelta(0):
        raise EventProblem("it ends before it starts")
    return duration


def _conference(event: icalendar.Event, uid: str, zone: ZoneInfo) -> Conference:
    start = _start(event, zone)
    duration = _duration(event, start, zone)
    return Conference(
        id=uid,
        title=str(event.get("SUMMARY", ""))[:MAX_TITLE],
        kind=_kind(event),
        start=start,
        duration_min=max(1, round(duration.total_seconds() / 60)),
        far_end=str(event.get("LOCATION")) if event.get("LOCATION") else None,
    )


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        text = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'event'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()[:3]
        )
    elif isinstance(exc, EventProblem):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text[:MAX_SHOWN]


def read_ics(path: Path, zone: ZoneInfo) -> tuple[list[Conference], list[str]]:
    """The conferences in `path`, and a message for every event that was left out."""
    try:
        data = read_small_file(path, MAX_ICS_BYTES)
    except UnreadableFile as exc:
        raise IcsError(f"{path}: cannot read the calendar: {exc.reason}") from None
    try:
        calendar = icalendar.Calendar.from_ical(data)
        events = calendar.walk("VEVENT")
    except RecursionError:
        raise IcsError(f"{path}: cannot read the calendar: components nested too deeply") from None
    except Exception as exc:  # icalendar raises ValueError, KeyError, IndexError … on malformed input
        raise IcsError(f"{path}: cannot read the calendar: {_reason(exc)}") from None
    conferences: dict[str, Conference] = {}
    problems: list[str] = []
    if len(events) > MAX_ICS_EVENTS:
        problems.append(f"{path}: {len(events)} events, only the first {MAX_ICS_EVENTS} are read")
    for event in events[:MAX_ICS_EVENTS]:
        uid = str(event.get("UID", "")).strip()
        shown = uid[:MAX_SHOWN] or "(no UID)"
        try:
            if not uid:
                raise EventProblem("it has no UID (the conference's stable id)")
            if uid in conferences:
                raise EventProblem("its UID repeats an earlier event's, which is kept")
            conferences[uid] = _conference(event, uid, zone)
        except Exception as exc:  # one bad event never costs the others (decoding is icalendar's, on any input)
            problems.append(f"{path}: event {shown}: {_reason(exc)}")
    return list(conferences.values()), problems
