"""The schedule keeper: conferences merged from the config, the .ics file and the hub, and their timeline.

Conferences come from `[[conference]]`, the `.ics` file (read when the keeper is built: at start
and on SIGHUP) and the hubs' `cmd/schedule`, one slot per pushing office (agent/schedule/offices.py;
kept in `state_dir/pushed_schedule.json` so a restart keeps them). Each checkpoint raises one event
(`timeline.<kind>`, with the conference id) when its time comes; which have fired is kept in
`state_dir/timeline_fired.json`.

Nothing read at start may stop the agent from starting, and nothing pushed may be half taken:

- `push` validates the whole schedule (each conference, at most `MAX_CONFERENCES`, unique ids,
  none starting beyond `PUSH_HORIZON`), builds the new timeline, and only then stores and applies
  it; any problem is a `ValueError` and the previous schedule stays.
- A stored schedule that does not pass the same checks (or is not a readable regular file) is
  renamed aside (`pushed_schedule.json.rejected-<UTC time>`), and a notice says why; an .ics file
  that cannot be read, or has events that cannot, and a fired-checkpoint record that cannot be
  read give notices too. `take_notices()` hands them to the daemon, which raises them as events.
- Conferences that ended more than `STALE_AFTER` ago are kept off the timeline: an old
  calendar or a re-pushed week must not fire late starts, ends and summaries of meetings the
  agent never saw.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError

from agent.config.models import Settings
from agent.schedule.offices import DEFAULT_OFFICE, office_problem, parse_stored, replace_slot, stored_form, union
from agent.schedule.timeline import Timeline
from contract.conference import MAX_CONFERENCES, Conference
from contract.small_file import MIB, UnreadableFile, read_small_file

log = logging.getLogger(__name__)
CONFERENCES = TypeAdapter(list[Conference])
PUSHED = "pushed_schedule.json"
FIRED = "timeline_fired.json"
MAX_STATE_BYTES = 4 * MIB  # 500 conferences are ~150 KB as JSON
PUSH_HORIZON = timedelta(days=400)  # a pushed conference starts at most this far ahead (a year and a bit)
STALE_AFTER = timedelta(days=1)  # conferences that ended longer ago stay off the timeline
MAX_LISTED_PROBLEMS = 5  # problems quoted in one refusal or notice; the rest are counted

Notice = tuple[str, dict[str, Any]]


def _listed(problems: list[str]) -> str:
    shown = "; ".join(problems[:MAX_LISTED_PROBLEMS])
    more = len(problems) - MAX_LISTED_PROBLEMS
    return shown + (f"; and {more} more" if more > 0 else "")


def validate_schedule(raw: object, zone: ZoneInfo) -> list[Conference]:
    """A schedule as pushed or stored, checked whole; ValueError saying every problem (the first few).

    The timeline is built here too, so that a schedule accepted is one the agent can run."""
    if not isinstance(raw, list):
        raise ValueError(f'"conferences" must be a list, not {type(raw).__name__}')
    if len(raw) > MAX_CONFERENCES:
        raise ValueError(f"{len(raw)} conferences, at most {MAX_CONFERENCES} in one schedule")
    try:
        conferences = CONFERENCES.validate_python(raw)
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise ValueError(_listed(problems)) from None
    ids = [c.id for c in conferences]
    if len(ids) != len(set(ids)):
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"conference ids repeat: {_listed(repeated)}")
    _timeline(conferences, zone, set())
    return conferences


def _timeline(conferences: list[Conference], zone: ZoneInfo, fired: set[tuple[str, str]]) -> Timeline:
    """Build a timeline; the model makes this total, and if it ever were not, the answer is a ValueError."""
    try:
        return Timeline(conferences, zone, fired)
    except (OverflowError, ValueError, TypeError) as exc:
        raise ValueError(f"its timeline cannot be built: {exc}") from None


def _fired_pairs(data: object) -> set[tuple[str, str]]:
    if not isinstance(data, list) or not all(
        isinstance(item, list) and len(item) == 2 and all(isinstance(part, str) for part in item) for item in data
    ):
        raise ValueError("not a list of [conference id, checkpoint kind] pairs")
    return {(item[0], item[1]) for item in data}


class ScheduleKeeper:
    """The merged schedule and its timeline; `push` is what cmd/schedule calls.

    Building one never raises for Settings that passed `load_config`: whatever is wrong with the
    files it reads becomes a notice (see `take_notices`)."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.settings = settings
        self.zone = ZoneInfo(settings.schedule.timezone)
        self.clock = clock
        self.state_dir = settings.agent.state_dir
        self._notices: list[Notice] = []
        self.problems: list[str] = []  # the .ics file's, as `venue-agent schedule` prints them
        self.from_ics = self._read_ics()
        self.offices: dict[str, list[Conference]] = self._load_pushed()
        self.timeline = self._build(self.pushed, self._load_fired())

    def take_notices(self) -> list[Notice]:
        """(code, fields) of every problem found since the last call, for the daemon to raise as events."""
        notices, self._notices = self._notices, []
        return notices

    def _path(self, name: str) -> Path:
        return self.state_dir / name

    # -- reading what is on disk ---------------------------------------------------------------
    def _read_ics(self) -> list[Conference]:
        path = self.settings.schedule.ics_file
        if path is None:
            return []
        from contract.schedule_ics import IcsError, read_ics  # icalendar (~5 MiB) only for a venue that has a file

        try:
            conferences, self.problems = read_ics(path, self.zone)
        except IcsError as exc:
            self.problems = [str(exc)]
            reason = str(exc).removeprefix(f"{path}: ")
            self._notices.append(("schedule.ics_unreadable", {"path": str(path), "error": reason}))
            return []
        if self.problems:
            reasons = [problem.removeprefix(f"{path}: ") for problem in self.problems]
            fields = {"path": str(path), "count": len(reasons), "problems": _listed(reasons)}
            self._notices.append(("schedule.ics_events_skipped", fields))
        return conferences

    @property
    def pushed(self) -> list[Conference]:
        """Every office's pushed conferences together."""
        return union(self.offices)

    def _load_pushed(self) -> dict[str, list[Conference]]:
        path = self._path(PUSHED)
        try:
            offices = parse_stored(
                json.loads(read_small_file(path, MAX_STATE_BYTES)), lambda raw: validate_schedule(raw, self.zone)
            )
            _timeline(union(offices), self.zone, set())  # the offices' schedules must run together too
            return offices
        except UnreadableFile as exc:
            if exc.missing:
                return {}
            reason = exc.reason
        except RecursionError:
            reason = "not usable JSON: nested too deeply"
        except ValueError as exc:  # also JSONDecodeError and UnicodeDecodeError
            reason = str(exc)
        self._set_aside(path, reason)
        return {}

    def _set_aside(self, path: Path, reason: str) -> None:
        """Rename a stored schedule that cannot be used, so that it cannot poison the next start either."""
        moved = path.with_name(f"{path.name}.rejected-{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}")
        try:
            os.replace(path, moved)
            where = str(moved)
        except OSError as exc:
            where = f"(not moved: {exc.strerror or exc})"
        log.error("stored schedule %s set aside as %s: %s", path, where, reason)
        self._notices.append(("schedule.stored_rejected", {"path": str(path), "moved": where, "error": reason}))

    def _load_fired(self) -> set[tuple[str, str]]:
        path = self._path(FIRED)
        try:
            return _fired_pairs(json.loads(read_small_file(path, MAX_STATE_BYTES)))
        except UnreadableFile as exc:
            if exc.missing:
                return set()
            reason = exc.reason
        except RecursionError:
            reason = "not usable JSON: nested too deeply"
        except ValueError as exc:
            reason = str(exc)
        log.error("ignoring %s: %s", path, reason)
        self._notices.append(("schedule.fired_unreadable", {"path": str(path), "error": reason}))
        return set()

    def _save(self, name: str, data: bytes) -> None:
        """Write atomically (a temporary file renamed over the old one): a crash never leaves half a file."""
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.state_dir, prefix=f".{name}.", delete=False) as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.replace(handle.name, self._path(name))
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(handle.name)
                raise
        except OSError as exc:
            log.error("cannot write %s: %s", self._path(name), exc)

    # -- the merged schedule -------------------------------------------------------------------
    def _merge(self, pushed: list[Conference]) -> list[Conference]:
        merged = {c.id: c for c in pushed}
        merged.update({c.id: c for c in self.from_ics})
        merged.update({c.id: c for c in self.settings.conference})  # the local config wins
        cutoff = self.clock() - STALE_AFTER
        return sorted((c for c in merged.values() if c.end > cutoff), key=lambda c: c.start)

    def conferences(self) -> list[Conference]:
        """Every conference on the timeline: pushed, from the .ics file and the config, not long ended."""
        return self._merge(self.pushed)

    def _build(self, pushed: list[Conference], fired: set[tuple[str, str]]) -> Timeline:
        return _timeline(self._merge(pushed), self.zone, fired)

    def push(self, args: dict) -> dict:
        """cmd/schedule: {"conferences": [...], "office": scope} replaces that office's pushed schedule
        (`hub` when no office is named); invalid → ValueError.

        Validated whole and its timeline built before anything is stored or applied."""
        if not isinstance(args, dict) or "conferences" not in args or set(args) - {"conferences", "office"}:
            raise ValueError('the arguments must be {"conferences": [...]} and optionally "office"')
        office = args.get("office", DEFAULT_OFFICE)
        try:
            if problem := office_problem(office):
                raise ValueError(problem)
            conferences = validate_schedule(args["conferences"], self.zone)
            self._within_horizon(conferences)
            offices = replace_slot(self.offices, office, conferences)
            timeline = self._build(union(offices), self.timeline.fired)
        except ValueError as exc:
            raise ValueError(f"schedule refused, the previous one stays: {exc}") from None
        self._save(PUSHED, json.dumps(stored_form(offices), ensure_ascii=False).encode())
        self.offices, self.timeline = offices, timeline
        return {
            "accepted": len(conferences),
            "office": office,
            "offices": len(offices),
            "conferences": len(self.timeline.conferences),
        }

    def _within_horizon(self, conferences: list[Conference]) -> None:
        latest = self.clock() + PUSH_HORIZON
        beyond = [f"{c.id} starts {c.start.isoformat()}" for c in conferences if c.start > latest]
        if beyond:
            raise ValueError(f"beyond the {PUSH_HORIZON.days}-day horizon: {_listed(beyond)}")

    def status(self) -> dict:
        now = self.clock()
        current = self.timeline.current(now)
        following = self.timeline.following(now)
        return {
            "current": [c.model_dump(mode="json") for c in current],
            "next": following.model_dump(mode="json") if following else None,
            "next_checkpoint_at": (at.isoformat() if (at := self.timeline.next_at(now)) else None),
        }

    def fired_changed(self) -> None:
        self._save(FIRED, json.dumps(sorted(self.timeline.fired)).encode())
