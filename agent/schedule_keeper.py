"""The schedule keeper: conferences merged from the config, the .ics file and the hub, and their timeline.

Conferences come from `[[conference]]`, the `.ics` file and the hub's `cmd/schedule` (kept in
`state_dir/pushed_schedule.json` so a restart keeps it). Each checkpoint raises one event
(`timeline.<kind>`, with the conference id) when its time comes; a pre-start checkpoint missed
while the agent was down runs at once if its conference has not begun, else it is reported as
missed. Which checkpoints have fired is kept in `state_dir/timeline_fired.json`. The self-tests
that act on them arrive with the rest of issue #7.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError

from agent.config.models import Settings
from agent.schedule_ics import IcsError, read_ics
from agent.timeline import Conference, Timeline

log = logging.getLogger(__name__)
CONFERENCES = TypeAdapter(list[Conference])


class ScheduleKeeper:
    """The merged schedule and its timeline; `push` is what cmd/schedule calls."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.settings = settings
        self.zone = ZoneInfo(settings.schedule.timezone)
        self.clock = clock
        self.state_dir = settings.agent.state_dir
        self.pushed: list[Conference] = self._load_pushed()
        self.problems: list[str] = []
        self.timeline = self._build(self._load_fired())

    def _path(self, name: str) -> Path:
        return self.state_dir / name

    def _load_pushed(self) -> list[Conference]:
        try:
            return CONFERENCES.validate_json(self._path("pushed_schedule.json").read_bytes())
        except FileNotFoundError:
            return []
        except (OSError, ValidationError) as exc:
            log.error("ignoring %s: %s", self._path("pushed_schedule.json"), exc)
            return []

    def _load_fired(self) -> set[tuple[str, str]]:
        try:
            return {tuple(item) for item in json.loads(self._path("timeline_fired.json").read_text())}
        except (OSError, ValueError, TypeError):
            return set()

    def _save(self, name: str, text: str) -> None:
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            self._path(name).write_text(text, encoding="utf-8")
        except OSError as exc:
            log.error("cannot write %s: %s", self._path(name), exc)

    def conferences(self) -> list[Conference]:
        merged = {c.id: c for c in self.pushed}
        if self.settings.schedule.ics_file is not None:
            try:
                from_ics, self.problems = read_ics(self.settings.schedule.ics_file, self.zone)
            except IcsError as exc:
                from_ics, self.problems = [], [str(exc)]
            merged.update({c.id: c for c in from_ics})
        merged.update({c.id: c for c in self.settings.conference})  # the local config wins
        return sorted(merged.values(), key=lambda c: c.start)

    def _build(self, fired: set[tuple[str, str]]) -> Timeline:
        return Timeline(self.conferences(), self.zone, fired)

    def push(self, args: dict) -> dict:
        """cmd/schedule: {"conferences": [...]} replaces the pushed schedule; invalid → ValueError."""
        if set(args) != {"conferences"}:
            raise ValueError('the arguments must be exactly {"conferences": [...]}')
        try:
            conferences = CONFERENCES.validate_python(args["conferences"])
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ValueError(f"schedule refused, the previous one stays: {problems}") from None
        ids = [c.id for c in conferences]
        if len(ids) != len(set(ids)):
            raise ValueError("schedule refused, the previous one stays: conference ids repeat")
        self.pushed = conferences
        self._save("pushed_schedule.json", CONFERENCES.dump_json(conferences).decode())
        self.timeline = self._build(self.timeline.fired)
        return {"accepted": len(conferences), "conferences": len(self.timeline.conferences)}

    def status(self) -> dict:
        now = self.clock()
        current = self.timeline.current(now)
        upcoming = [c for c in self.timeline.conferences.values() if c.start > now]
        following = min(upcoming, key=lambda c: c.start, default=None)
        return {
            "current": [c.model_dump(mode="json") for c in current],
            "next": following.model_dump(mode="json") if following else None,
            "next_checkpoint_at": (at.isoformat() if (at := self.timeline.next_at(now)) else None),
        }

    def fired_changed(self) -> None:
        self._save("timeline_fired.json", json.dumps(sorted(self.timeline.fired)))
