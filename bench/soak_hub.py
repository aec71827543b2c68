"""The soak's stand-in for the provincial hub: one MQTT 5 subscriber with a persistent session.

It keeps what the soak's verdict needs: every event's seq (de-duplicated by id, as the hub does),
the replies to the commands it sends, the last retained status. The session survives broker
restarts (clean_start off, a session expiry, a broker with persistence), so events published
while the hub itself was cut off are still delivered to it — a loss counted here is the agent's.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from contract.topics import VenueTopics


class SoakHub:
    def __init__(self, port: int, topics: VenueTopics):
        self.topics = topics
        self._lock = threading.Lock()
        self.event_ids: set[str] = set()
        self.event_seqs: list[int] = []  # in arrival order, first copy of each id only
        self.duplicates = 0
        self.codes: Counter[str] = Counter()
        self.replies: dict[str, dict[str, Any]] = {}
        self.sent_commands: list[str] = []
        self.last_status: dict[str, Any] | None = None
        self.availability: list[str] = []
        self.undecodable = 0
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"soak-hub-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 2)
        connect = Properties(PacketTypes.CONNECT)
        connect.SessionExpiryInterval = 24 * 3600
        self.client.connect_async("127.0.0.1", port, keepalive=10, clean_start=False, properties=connect)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        client.subscribe(f"{self.topics.base}/#", qos=1)

    def _on_message(self, client, userdata, message) -> None:
        topic = message.topic
        with self._lock:
            if topic == self.topics.availability:
                self.availability.append(message.payload.decode("utf-8", "replace"))
                return
            try:
                payload = json.loads(message.payload)
            except (ValueError, UnicodeDecodeError):
                self.undecodable += 1
                return
            if topic == self.topics.events:
                if payload["id"] in self.event_ids:
                    self.duplicates += 1
                    return
                self.event_ids.add(payload["id"])
                self.event_seqs.append(payload["seq"])
                self.codes[payload["code"]] += 1
            elif topic == self.topics.status:
                self.last_status = payload
            elif topic.startswith(self.topics.reply_subtree):
                self.replies[topic.rsplit("/", 1)[-1]] = payload

    def send_command(self, name: str, args: dict[str, Any] | None = None) -> str:
        """Publish cmd/<name> with a response topic under the venue's reply subtree; returns the token."""
        token = uuid.uuid4().hex
        properties = Properties(PacketTypes.PUBLISH)
        properties.ResponseTopic = self.topics.reply_topic(token)
        properties.CorrelationData = token.encode()
        body = json.dumps({"args": args or {}}).encode()
        self.client.publish(self.topics.command(name), body, qos=1, properties=properties)
        with self._lock:
            self.sent_commands.append(token)
        return token

    def event_verdict(self, agent_seq: int) -> dict[str, Any]:
        """Received seqs against the agent's own counter: missing, duplicated, out of order."""
        with self._lock:
            seqs = list(self.event_seqs)
            duplicates = self.duplicates
        distinct = set(seqs)
        return {
            "agent_seq": agent_seq,
            "received_distinct": len(distinct),
            "duplicates_dropped_by_id": duplicates,
            "same_seq_different_id": len(seqs) - len(distinct),
            "missing": [n for n in range(1, agent_seq + 1) if n not in distinct],
            "beyond_agent_seq": sorted(n for n in distinct if n > agent_seq),
            "in_order": seqs == sorted(seqs),
        }

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
