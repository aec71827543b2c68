"""What every part of the running agent shares: the config in force and the objects built from it.

A reload swaps `settings`, `venue`, `topics` and `schedule` here, at one place, so that the parts
(reporting, publishing, commands, the timeline) always read the current ones and never a copy they
took at start-up. The link and the router exist only while the broker side is started.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from agent.config import Settings
from agent.identity import venue_ref
from agent.mqtt.commands import CommandRouter
from agent.mqtt.link import BrokerLink
from agent.outbox import Outbox
from agent.reporting.board import StatusBoard
from agent.schedule.keeper import ScheduleKeeper
from agent.snapshot.latest_frame import LatestFrame
from contract.payloads import VenueRef, utc_now
from contract.topics import VenueTopics


@dataclass
class AgentContext:
    config_path: Path
    settings: Settings
    schedule: ScheduleKeeper
    outbox: Outbox
    clock: Callable[[], datetime]  # the schedule's time: injected by tests that run a day in seconds
    board: StatusBoard = field(default_factory=StatusBoard)
    started_at: datetime = field(default_factory=utc_now)
    venue: VenueRef = field(init=False)
    topics: VenueTopics = field(init=False)
    link: BrokerLink | None = None
    router: CommandRouter | None = None
    latest_frame: LatestFrame = field(default_factory=LatestFrame)  # for uplink snapshots

    def __post_init__(self) -> None:
        self.address(self.settings)

    def address(self, settings: Settings) -> None:
        """Take the venue identity and topic tree of `settings` (at start and when a reload changes them)."""
        self.venue = venue_ref(settings)
        self.topics = VenueTopics.for_venue(settings.broker.topic_prefix, settings.venue)

    def wake_link(self) -> None:
        """Nudge the link to send what was just queued (nothing to do while it is down)."""
        if self.link is not None:
            self.link.wake()
