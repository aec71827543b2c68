"""Conferences from an iCalendar (.ics) file, as calendar tools export them.

Each VEVENT is a conference: UID → id, SUMMARY → title, DTSTART → start (a floating time is taken
in the schedule's time zone), DTEND or DURATION → duration, LOCATION → far end. The kind comes from
`X-VENUE-KIND` if present, else the first CATEGORIES value that is a kind, else `provincial`.
Recurring events are not expanded (conference notices are one-off); an event that cannot be read
is reported with its UID and the reason, and the others are kept.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
from pydantic import ValidationError

from agent.timeline import Conference

KINDS = ("national", "provincial", "department", "followup")


class IcsError(Exception):
    """The file cannot be read at all."""


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


def read_ics(path: Path, zone: ZoneInfo) -> tuple[list[Conference], list[str]]:
    """The conferences in `path`, and a message for every event that was left out."""
    try:
        calendar = icalendar.Calendar.from_ical(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise IcsError(f"{path}: cannot read the calendar: {exc}") from None
    conferences, problems = [], []
    for event in calendar.walk("VEVENT"):
        uid = str(event.get("UID", "")).strip() or "(no UID)"
        try:
            start = event.decoded("DTSTART")
            if not isinstance(start, datetime) and isinstance(start, date):
                raise ValueError("an all-day event has no start time")
            if start.tzinfo is None:
                start = start.replace(tzinfo=zone)
            if "DTEND" in event:
                duration = event.decoded("DTEND") - event.decoded("DTSTART")
            elif "DURATION" in event:
                duration = event.decoded("DURATION")
            else:
                duration = timedelta(hours=1)
            conferences.append(
                Conference(
                    id=uid,
                    title=str(event.get("SUMMARY", "")),
                    kind=_kind(event),
                    start=start,
                    duration_min=max(1, round(duration.total_seconds() / 60)),
                    far_end=str(event.get("LOCATION")) if event.get("LOCATION") else None,
                )
            )
        except (KeyError, ValueError, TypeError, ValidationError) as exc:
            reason = "; ".join(e["msg"] for e in exc.errors()) if isinstance(exc, ValidationError) else str(exc)
            problems.append(f"{path}: event {uid}: {reason}")
    return conferences, problems
