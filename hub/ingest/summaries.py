"""Ask venues for the Art. 20 summaries the broker could not keep (`cmd/summary`).

A venue's `conference.summary` event normally arrives through the outbox like any event. But a hub
that was away longer than its session expiry, or whose broker dropped its queue (mosquitto's
`max_queued_messages`), has lost it for good on the MQTT side — while the venue still keeps every
summary on disk. So, for every conference this office pushed whose end lies `summary_request_after_s`
in the past (and at most `SUMMARY_LOOKBACK` ago), each venue it was pushed to that is online and has
no summary stored is asked `cmd/summary {"conference_id": …}`; the reply (the same dict as the
event's `data`) is stored with `source = "cmd/summary"`. A venue that answers `cmd.bad_payload` (it
keeps no summary of that conference: it never held it) is not asked again by this process; one that
does not answer is asked again after `summary_retry_s`.

Replies come back on `<venue>/cmd/replies/<client id>-summary`, which this process subscribes to
(non-shared); the store thread recognises them by that token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import ValidationError
from sqlalchemy import Engine, select

from contract.payloads import COMMAND_SCHEMA, Reply
from contract.topics import VenueTopics
from hub.db.models import Conference, ConferenceSummary, ConferenceVenue, Venue
from hub.ingest.decode import Incoming
from hub.ingest.store import Store
from hub.scope import leaf_filter, parse_topic, venue_in_scope

log = logging.getLogger("hub.summaries")

SUMMARY_LOOKBACK = timedelta(days=7)
MAX_REQUESTS_PER_ROUND = 200


class SummaryBackfill:
    def __init__(
        self,
        engine: Engine,
        store: Store,
        scope: str,
        prefix: str,
        client_id: str,
        request_after_s: float,
        retry_s: float,
        clock: Callable[[], datetime],
    ):
        self.engine = engine
        self.store = store
        self.scope = scope
        self.prefix = prefix
        self.token = f"{client_id}-summary"
        self.request_after = timedelta(seconds=request_after_s)
        self.retry = timedelta(seconds=retry_s)
        self.clock = clock
        self._asked: dict[tuple[str, str], datetime] = {}
        self._none_kept: set[tuple[str, str]] = set()
        self.asked = 0
        self.recovered = 0

    @property
    def reply_filter(self) -> str:
        return f"{leaf_filter(self.scope, 'cmd/replies')}/{self.token}"

    def due(self) -> list[tuple[str, str]]:
        """(venue key, conference id) pairs to ask now."""
        now = self.clock()
        with self.engine.connect() as connection:
            conferences = connection.execute(
                select(Conference.id, Conference.start, Conference.duration_min).where(
                    Conference.start >= now - SUMMARY_LOOKBACK - timedelta(days=1)
                )
            ).all()
            ended = {
                c.id
                for c in conferences
                if now - SUMMARY_LOOKBACK <= c.start + timedelta(minutes=c.duration_min) <= now - self.request_after
            }
            if not ended:
                return []
            pushed = connection.execute(
                select(ConferenceVenue.venue_key, ConferenceVenue.conference_id)
                .join(Venue, Venue.key == ConferenceVenue.venue_key)
                .where(ConferenceVenue.conference_id.in_(ended), Venue.state == "online")
            ).all()
            have = set(
                connection.execute(
                    select(ConferenceSummary.venue_key, ConferenceSummary.conference_id).where(
                        ConferenceSummary.conference_id.in_(ended)
                    )
                ).all()
            )
        wanted = []
        for key, conference_id in pushed:
            pair = (key, conference_id)
            if pair in have or pair in self._none_kept or not venue_in_scope(key, self.scope):
                continue
            asked = self._asked.get(pair)
            if asked is None or now - asked >= self.retry:
                wanted.append(pair)
        return wanted[:MAX_REQUESTS_PER_ROUND]

    def ask(self, client: mqtt.Client, v5: bool) -> int:
        """Publish the requests that are due; returns how many."""
        pairs = self.due()
        for key, conference_id in pairs:
            topics = VenueTopics(f"{self.prefix}/{key}")
            body: dict[str, Any] = {"schema": COMMAND_SCHEMA, "args": {"conference_id": conference_id}}
            properties = None
            if v5:
                properties = Properties(PacketTypes.PUBLISH)
                properties.ResponseTopic = topics.reply_topic(self.token)
                properties.CorrelationData = conference_id.encode()
            else:
                body |= {"response_topic": topics.reply_topic(self.token), "correlation_id": conference_id}
            client.publish(
                topics.command("summary"), json.dumps(body).encode(), qos=1, retain=False, properties=properties
            )
            self._asked[(key, conference_id)] = self.clock()
        self.asked += len(pairs)
        if pairs:
            log.info("asked %d venue(s) for Art. 20 summaries the broker did not bring", len(pairs))
        return len(pairs)

    def is_reply(self, incoming: Incoming) -> bool:
        return incoming.topic.endswith(f"/cmd/replies/{self.token}")

    def take_reply(self, incoming: Incoming) -> None:
        """Store a summary a venue sent back (called on the store thread)."""
        place = parse_topic(incoming.topic, self.prefix)
        if place is None:
            return
        try:
            reply = Reply.model_validate_json(incoming.payload)
        except ValidationError:
            log.warning("an invalid cmd/summary reply on %s was ignored", incoming.topic[:120])
            return
        ref = reply.venue
        if f"{ref.province}/{ref.prefecture}/{ref.county}/{ref.id}" != place.key or reply.command != "summary":
            return
        if not reply.ok or not reply.result:
            if reply.error is not None and reply.error.code == "cmd.bad_payload":
                conference_id = reply.correlation_id or ""
                self._none_kept.add((place.key, conference_id))
            return
        summary = reply.result
        conference_id = summary.get("conference_id")
        if not isinstance(conference_id, str):
            return
        # The agent's summary dict may not state its severity (its event does); unknown rather than invented.
        severity = str(summary.get("severity") or "unknown")
        with self.engine.begin() as connection:
            if self.store.store_summary(connection, place.key, conference_id, severity, summary, "cmd/summary"):
                self.recovered += 1
                log.info("stored the summary of %s from %s (asked: cmd/summary)", conference_id, place.key)
