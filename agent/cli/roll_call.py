"""Ask the running daemon, through the broker, as the hub would: `cmd/<name>` with a reply topic.

Used by `venue-agent selftest --via-broker`: on a venue PC the daemon holds the capture card and
the sound input, so a self-test run by hand should be the daemon's own (it reads its monitors).
The reply topic is `…/<venue>/cmd/replies/<uuid>`: inside the venue's own subtree, which its broker
account may read and write (config/mosquitto-hub.example.acl), and two levels below `cmd/`, so the
daemon (subscribed to `cmd/+`) never takes a reply for a command.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from agent.config import Settings
from agent.mqtt.brief import BriefConnection
from contract.topics import VenueTopics


def ask_daemon(settings: Settings, command: str, args: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """The daemon's reply payload; ConnectionError / TimeoutError when there is none."""
    topics = VenueTopics.for_venue(settings.broker.topic_prefix, settings.venue)
    token = uuid.uuid4().hex
    reply_topic = topics.reply_topic(token)
    request = json.dumps({"args": args, "response_topic": reply_topic, "correlation_id": token}).encode()
    replies: list[dict[str, Any]] = []
    connection = BriefConnection(settings, "cli")
    connection.on_ready = lambda client: client.subscribe(reply_topic, qos=1)

    def on_subscribe(client, userdata, mid, reasons, properties):
        client.publish(topics.command(command), request, qos=1)

    def on_message(client, userdata, message):
        try:
            reply = json.loads(message.payload)
        except ValueError:
            return
        if isinstance(reply, dict) and reply.get("correlation_id") == token:
            replies.append(reply)
            connection.done.set()

    connection.client.on_subscribe, connection.client.on_message = on_subscribe, on_message
    connection.run(timeout_s)
    if not replies:
        raise TimeoutError(
            f"no reply from the daemon on {topics.command(command)} within {timeout_s:g} s (is it running?)"
        )
    return replies[0]
