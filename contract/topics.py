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
SNAPSHOT = "snapshot"  # retained: the latest analysed uplink frame (contract/snapshot.py)
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
    def snapshot(self) -> str:
        return f"{self.base}/{SNAPSHOT}"

    @property
    def replies(self) -> str:
        """Where replies go when a command names no response topic (MQTT 3.1.1 callers)."""
        return f"{self.base}/{REPLIES}"

    @property
    def reply_subtree(self) -> str:
        """Callers' response topics must lie below this (`<base>/cmd/replies/<anything>`): the venue's
        own subtree, outside `cmd/+` (so the agent never reads its own replies as commands)."""
        return f"{self.base}/{COMMAND}/{REPLIES}/"

    @property
    def command_filter(self) -> str:
        return f"{self.base}/{COMMAND}/+"

    def command(self, name: str) -> str:
        return f"{self.base}/{COMMAND}/{name}"

    def reply_topic(self, token: str) -> str:
        """A response topic a caller (the hub, the CLI) names for one request."""
        return f"{self.reply_subtree}{token}"

    def command_name(self, topic: str) -> str | None:
        prefix = f"{self.base}/{COMMAND}/"
        return topic[len(prefix) :] if topic.startswith(prefix) else None


MAX_TOPIC_BYTES = 65_535  # MQTT: a topic is a UTF-8 string with a two-byte length


def _forbidden_character(ch: str) -> bool:
    """Characters MQTT forbids (U+0000) or says topics should not hold (controls, non-characters);
    mosquitto drops the connection of a client that publishes some of them."""
    code = ord(ch)
    return (
        code <= 0x1F
        or 0x7F <= code <= 0x9F
        or 0xD800 <= code <= 0xDFFF
        or 0xFDD0 <= code <= 0xFDEF
        or (code & 0xFFFE) == 0xFFFE
    )


def topic_problem(topic: str) -> str | None:
    """Why `topic` cannot be published to under the MQTT rules, or None when it can."""
    if not topic:
        return "empty"
    try:
        size = len(topic.encode("utf-8"))
    except UnicodeEncodeError:
        return "not valid UTF-8 (a lone surrogate)"
    if size > MAX_TOPIC_BYTES:
        return f"{size} bytes long (MQTT allows {MAX_TOPIC_BYTES})"
    if "+" in topic or "#" in topic:
        return "holds a wildcard (+ or #)"
    if bad := next((ch for ch in topic if _forbidden_character(ch)), None):
        return f"holds the character U+{ord(bad):04X}"
    return None


def reply_topic_problem(topic: str, topics: VenueTopics) -> str | None:
    """Why a caller's response topic is refused, or None: valid MQTT and under the venue's reply subtree."""
    if problem := topic_problem(topic):
        return problem
    if not topic.startswith(topics.reply_subtree) or len(topic) == len(topics.reply_subtree):
        return f"not under this venue's reply subtree {topics.reply_subtree}…"
    return None
