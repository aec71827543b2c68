"""The topic tree: {prefix}/{province}/{prefecture}/{county}/{venue}/{leaf}.

The tree mirrors the administrative tree so that a single wildcard subscription — and a broker
ACL pattern — gives each level exactly its own subtree (Art. 9: a prefecture watches its counties).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class VenuePlace(Protocol):
    """Anything that names a venue's place in the tree (the agent's config, a payload's VenueRef)."""

    province: str
    prefecture: str
    county: str
    id: str


AVAILABILITY = "availability"
STATUS = "status"
EVENTS = "events"
SELFTEST = "selftest"
METRICS = "metrics"
COMMAND = "cmd"
REPLIES = "replies"


@dataclass(frozen=True)
class VenueTopics:
    """All topics of one venue."""

    base: str

    @classmethod
    def for_venue(cls, prefix: str, venue: VenuePlace) -> VenueTopics:
        return cls("/".join((prefix, venue.province, venue.prefecture, venue.county, venue.id)))

    @property
    def availability(self) -> str:
        return f"{self.base}/{AVAILABILITY}"

    @property
    def status(self) -> str:
        return f"{self.base}/{STATUS}"

    @property
    def events(self) -> str:
        return f"{self.base}/{EVENTS}"

    @property
    def selftest(self) -> str:
        return f"{self.base}/{SELFTEST}"

    @property
    def metrics(self) -> str:
        return f"{self.base}/{METRICS}"

    @property
    def replies(self) -> str:
        """Where replies go when a command names no response topic (MQTT 3.1.1 callers)."""
        return f"{self.base}/{REPLIES}"

    @property
    def command_filter(self) -> str:
        return f"{self.base}/{COMMAND}/+"

    def command(self, name: str) -> str:
        return f"{self.base}/{COMMAND}/{name}"

    def command_name(self, topic: str) -> str | None:
        prefix = f"{self.base}/{COMMAND}/"
        return topic[len(prefix) :] if topic.startswith(prefix) else None
