"""The schedule the daemon holds, as the CLI reads it: the config, the .ics file and every office's push.

`venue-agent schedule` used to list the config's and the .ics file's conferences only, and said
"no conferences ahead" right after the hub's `cmd/schedule` had been accepted (#17 item 5). The
daemon's schedule is the union that agent/schedule/keeper.py merges: each office's pushed
conferences (`state_dir/pushed_schedule.json`, `{"offices": {scope: [...]}}`, agent/schedule/
offices.py), then the .ics file's, then the config's (the local config wins an id), none that
ended more than a day ago. This module merges the same way and remembers where each came from.

Read only: the keeper sets aside a stored file it cannot use, but that is the daemon's business
(and the CLI may run as another user); here a file that cannot be read is *said*, and when it is
a matter of permissions (the state directory belongs to the service user) the message says how to
look as that user, instead of letting an empty list read as "no conferences".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from agent.cli.messages import text
from agent.config.models import Settings
from agent.schedule.keeper import MAX_STATE_BYTES, PUSHED, STALE_AFTER, validate_schedule
from agent.schedule.offices import parse_stored
from contract.conference import Conference
from contract.findings import Message
from contract.schedule_ics import IcsError, read_ics
from contract.small_file import UnreadableFile, read_small_file

CONFIG, ICS = "config", "ics"


@dataclass
class HeldSchedule:
    """The merged conferences with their origin (`config`, `ics`, or the office that pushed it),
    and what could not be read (bilingual notices; `pushed_unreadable` when the pushed file was
    there but not readable by this user)."""

    conferences: list[tuple[Conference, str]] = field(default_factory=list)
    notices: list[Message] = field(default_factory=list)
    pushed_unreadable: bool = False


def _pushed(settings: Settings, zone: ZoneInfo, held: HeldSchedule) -> dict[str, list[Conference]]:
    path = settings.agent.state_dir / PUSHED
    try:
        raw = read_small_file(path, MAX_STATE_BYTES)
    except UnreadableFile as exc:
        if not exc.missing:
            held.pushed_unreadable = True
            held.notices.append(text("cli.schedule_unreadable", path=path, detail=exc.reason))
        return {}
    try:
        return parse_stored(json.loads(raw), lambda listed: validate_schedule(listed, zone))
    except RecursionError:
        reason = "not usable JSON: nested too deeply"
    except ValueError as exc:  # also JSONDecodeError, UnicodeDecodeError
        reason = str(exc)
    held.notices.append(text("cli.schedule_stored_bad", path=path, detail=reason))
    return {}


def held_schedule(settings: Settings, now: datetime) -> HeldSchedule:
    """What the daemon's timeline holds now, each conference with where it came from."""
    zone = ZoneInfo(settings.schedule.timezone)
    held = HeldSchedule()
    merged: dict[str, tuple[Conference, str]] = {}
    for office, listed in sorted(_pushed(settings, zone, held).items()):  # as offices.union: the last sorted wins
        merged.update({c.id: (c, office) for c in listed})
    if settings.schedule.ics_file is not None:
        try:
            from_ics, problems = read_ics(settings.schedule.ics_file, zone)
        except IcsError as exc:
            from_ics, problems = [], [str(exc)]
        held.notices += [text("cli.schedule_ics_problem", detail=problem) for problem in problems]
        merged.update({c.id: (c, ICS) for c in from_ics})
    merged.update({c.id: (c, CONFIG) for c in settings.conference})  # the local config wins
    cutoff = now - STALE_AFTER
    held.conferences = sorted((item for item in merged.values() if item[0].end > cutoff), key=lambda i: i[0].start)
    return held
