"""Ask the running daemon, through the broker, as the hub would: `cmd/<name>` with a reply topic.

Used by `venue-agent selftest --via-broker`: on a venue PC the daemon holds the capture card and
the sound input, so a self-test run by hand should be the daemon's own (it reads its monitors).
The reply topic is `…/<venue>/cmd/replies/<uuid>`: inside the venue's own subtree, which its broker
account may read and write (config/mosquitto-hub.example.acl), and two levels below `cmd/`, so the
daemon (subscribed to `cmd/+`) never takes a reply for a command.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from agent.config import Settings
from agent.config.secrets import resolve_password
from agent.contract.topics import VenueTopics
from agent.mqtt_client import make_client


def ask_daemon(settings: Settings, command: str, args: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """The daemon's reply payload; ConnectionError / TimeoutError when there is none."""
    topics = VenueTopics.for_venue(settings.broker.topic_prefix, settings.venue)
    token = uuid.uuid4().hex
    reply_topic = f"{topics.base}/cmd/replies/{token}"
    request = json.dumps({"args": args, "response_topic": reply_topic, "correlation_id": token}).encode()
    replies: list[dict[str, Any]] = []
    failure: list[str] = []
    done = threading.Event()

    def on_connect(client, userdata, flags, reason, properties):
        if reason.is_failure:
            failure.append(f"broker refused the connection: {reason}")
            done.set()
            return
        client.subscribe(reply_topic, qos=1)

    def on_subscribe(client, userdata, mid, reasons, properties):
        client.publish(f"{topics.base}/cmd/{command}", request, qos=1)

    def on_message(client, userdata, message):
        try:
            reply = json.loads(message.payload)
        except ValueError:
            return
        if isinstance(reply, dict) and reply.get("correlation_id") == token:
            replies.append(reply)
            done.set()

    client = make_client(settings.broker, f"venue-agent-cli-{token[:8]}", resolve_password(settings.broker))
    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    try:
        client.connect(settings.broker.host, settings.broker.port, keepalive=30)
    except OSError as exc:
        raise ConnectionError(f"cannot reach {settings.broker.url}: {exc.strerror or exc}") from None
    client.loop_start()
    try:
        done.wait(timeout_s)
    finally:
        client.disconnect()
        client.loop_stop()
    if failure:
        raise ConnectionError(failure[0])
    if not replies:
        raise TimeoutError(
            f"no reply from the daemon on {topics.base}/cmd/{command} within {timeout_s:g} s (is it running?)"
        )
    return replies[0]
