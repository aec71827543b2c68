"""Ask many venues one command at once and collect their replies until a deadline.

Each venue gets the command on its own `…/cmd/<name>` (QoS 1, never retained: the agent ignores
retained commands) with a response topic under *its own* reply subtree, `…/cmd/replies/<token>`
(the agent answers nowhere else), and the venue key as correlation data. One subscription,
`<scope padded with +>/cmd/replies/<token>`, receives every answer; a reply is believed only when it
validates as a contract `Reply`, comes from the venue whose topic it arrived on, and answers a venue
that was asked. MQTT 3.1.1 brokers get the same through the body's `response_topic`/`correlation_id`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import ValidationError

from contract.broker import BrokerConfig
from contract.mqtt_client import make_client
from contract.payloads import COMMAND_SCHEMA, Reply
from contract.topics import VenueTopics
from hub.scope import leaf_filter, parse_topic

log = logging.getLogger("hub.commands")


class BrokerUnavailable(Exception):
    """The broker could not be reached (or refused the login)."""


@dataclass(frozen=True)
class Answer:
    reply: Reply
    seconds: float


def venue_topics(prefix: str, key: str) -> VenueTopics:
    return VenueTopics(f"{prefix}/{key}")


def ask_venues(
    broker: BrokerConfig,
    password: str | None,
    scope: str,
    venue_keys: list[str],
    command: str,
    args: dict[str, Any],
    deadline_s: float,
    connect_timeout_s: float = 10.0,
) -> tuple[dict[str, Answer], float]:
    """Send `command` to every venue in `venue_keys`; returns ({venue key: answer}, when it was sent
    as `time.monotonic()`). Venues that did not answer by the deadline are absent."""
    token = f"hub-{command}-{uuid.uuid4().hex[:12]}"
    prefix = broker.topic_prefix
    v5 = broker.protocol == "5"
    client = make_client(broker, f"venue-hub-{command}-{uuid.uuid4().hex[:8]}", password)
    answers: dict[str, Answer] = {}
    wanted = set(venue_keys)
    lock = threading.Condition()
    subscribed = threading.Event()
    refused: list[str] = []
    sent_at = 0.0

    def on_connect(c: mqtt.Client, _u, _f, reason_code, _p) -> None:
        if reason_code.is_failure:
            refused.append(str(reason_code))
            subscribed.set()
            return
        c.subscribe(f"{leaf_filter(scope, 'cmd/replies')}/{token}", qos=1)

    def on_message(_c, _u, message: mqtt.MQTTMessage) -> None:
        place = parse_topic(message.topic, prefix)
        if place is None or place.key not in wanted or place.leaf != f"cmd/replies/{token}":
            return
        try:
            reply = Reply.model_validate_json(message.payload)
        except ValidationError as exc:
            log.warning("an invalid reply on %s was ignored: %s", message.topic[:120], exc.errors()[0]["msg"])
            return
        ref = reply.venue
        if f"{ref.province}/{ref.prefecture}/{ref.county}/{ref.id}" != place.key or reply.command != command:
            log.warning("a reply on %s names another venue or command; ignored", message.topic[:120])
            return
        with lock:
            if place.key not in answers:
                answers[place.key] = Answer(reply, time.monotonic() - sent_at)
                lock.notify_all()

    client.on_connect = on_connect
    client.on_subscribe = lambda *_a: subscribed.set()
    client.on_message = on_message
    try:
        client.connect(broker.host, broker.port, broker.keepalive_s)
    except OSError as exc:
        raise BrokerUnavailable(f"cannot reach the broker {broker.host}:{broker.port}: {exc}") from None
    client.loop_start()
    try:
        if not subscribed.wait(connect_timeout_s) or refused:
            raise BrokerUnavailable(f"the broker {broker.host}:{broker.port} did not accept us: {refused or 'timeout'}")
        sent_at = time.monotonic()
        for key in venue_keys:
            topics = venue_topics(prefix, key)
            body: dict[str, Any] = {"schema": COMMAND_SCHEMA, "args": args}
            properties = None
            if v5:
                properties = Properties(PacketTypes.PUBLISH)
                properties.ResponseTopic = topics.reply_topic(token)
                properties.CorrelationData = key.encode()
            else:
                body |= {"response_topic": topics.reply_topic(token), "correlation_id": key}
            client.publish(
                topics.command(command), json.dumps(body).encode(), qos=1, retain=False, properties=properties
            )
        end = sent_at + deadline_s
        with lock:
            while len(answers) < len(wanted):
                remaining = end - time.monotonic()
                if remaining <= 0:
                    break
                lock.wait(remaining)
            return dict(answers), sent_at
    finally:
        client.disable_logger()
        client.disconnect()
        client.loop_stop()
