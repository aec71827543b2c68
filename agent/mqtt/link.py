"""The connection to the hub's broker: Last Will, availability, outbox delivery, commands in.

paho-mqtt runs its network loop in its own thread; every callback is handed to the asyncio loop
with `call_soon_threadsafe`, so all agent state (outbox, status) is touched from one thread only.

Delivery: messages are handed to paho once per broker session, oldest first, within a bounded
window — rows of the outbox file, then messages the outbox holds in memory while its disk refuses
writes (so a full disk does not stop delivery). paho keeps an unacknowledged QoS 1 message across
reconnects and resends it (DUP); the message is forgotten when its PUBACK arrives. After a crash
the next process starts again from the oldest row, so a message can arrive twice but never not at
all; consumers de-duplicate by payload `id`.

Availability: a retained `online` on every connect, the Last Will `offline`, and a retained `offline`
before a clean DISCONNECT. Over MQTT 5 all three carry the contract's Message Expiry Interval
(contract/availability.py): the broker's countdown is the only clock the bare word can have.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from agent.config.models import BrokerConfig
from agent.outbox import GROUP_COMMIT_S, Outbox
from contract.availability import OFFLINE, ONLINE, publish_properties, will_properties
from contract.broker import max_packet_size
from contract.mqtt_client import make_client
from contract.topics import VenueTopics

log = logging.getLogger(__name__)

WINDOW = 1000  # rows handed to paho and not yet acknowledged, at most
INFLIGHT = 200  # paho's own in-flight limit (unacked QoS 1 on the wire)
DELETE_BATCH_S = 0.05
DUPLICATE_HOLD_OFF_S = 60  # the older of two agents with one identity reconnects this rarely
# The largest packet the agent accepts, announced in its MQTT 5 CONNECT (Maximum Packet Size): the
# biggest thing it should ever receive is a command (agent.mqtt.commands.MAX_COMMAND_BYTES, 256 KiB: a
# 500-conference schedule is ~150 KB) or its own status (tens of KB). With the headroom, a command a
# little over the limit still arrives and is answered `cmd.too_large`; the broker drops anything bigger
# instead of making paho read it into memory. MQTT 3.1.1 has no such property: there, only the
# broker's own max_packet_size protects the agent.
MAX_PACKET_BYTES = max_packet_size(256 * 1024)


@dataclass(frozen=True)
class Publisher:
    """Which process publishes a venue's status: the `agent` part of the payload."""

    hostname: str
    pid: int
    started_at: datetime


def _published_by(payload: bytes) -> tuple[Publisher, datetime] | None:
    """Who published a status payload and when, or None when it is not a readable status."""
    try:
        status = json.loads(payload)
        agent = status["agent"]
        publisher = Publisher(str(agent["hostname"]), int(agent["pid"]), datetime.fromisoformat(agent["started_at"]))
        return publisher, datetime.fromisoformat(status["ts"])
    except (ValueError, TypeError, KeyError, RecursionError):
        return None


@dataclass(frozen=True)
class Incoming:
    """A command message as the router sees it."""

    topic: str
    payload: bytes
    response_topic: str | None
    correlation_data: bytes | None
    retained: bool = False  # delivered from the broker's retained store, not sent just now


class BrokerLink:
    def __init__(
        self,
        broker: BrokerConfig,
        client_id: str,
        topics: VenueTopics,
        outbox: Outbox,
        password: str | None,
        on_command: Callable[[Incoming], None],
        status_payload: Callable[[], bytes],
        identity: Publisher,
    ):
        self.broker = broker
        self.topics = topics
        self.outbox = outbox
        self._on_command = on_command
        self._status_payload = status_payload
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._handed: dict[int, int] = {}  # paho mid -> outbox key (see Outbox.next_to_send)
        self._acked: list[int] = []
        self._latest: dict[str, bytes] = {}  # retained messages of which only the newest matters
        self.connected = False
        self.last_error: str | None = None
        self.rejected = 0  # outbox messages the broker refused (PUBACK with a failure reason)
        self.last_rejection: tuple[str, str] | None = None  # (topic, reason)
        self._topics_handed: dict[int, str] = {}
        self._last_fail_logged = -1e9
        self.client_id = client_id
        self.identity = identity
        self.duplicates = 0  # other agents seen publishing this venue's status (same config twice)
        self._duplicates_seen: set[Publisher] = set()
        self._client = self._make_client(client_id, password)

    # -- set-up ----------------------------------------------------------------------------------
    def _make_client(self, client_id: str, password: str | None) -> mqtt.Client:
        client = make_client(self.broker, client_id, password)
        client.max_inflight_messages_set(INFLIGHT)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(int(max(1, self.broker.reconnect_min_s)), int(self.broker.reconnect_max_s))
        # MQTT 5: the Will counts down like every availability (contract/availability.py), so the hub
        # knows when the broker published it even when a hub process got it from its queue an hour late.
        will = will_properties() if self.broker.protocol == "5" else None
        client.will_set(self.topics.availability, OFFLINE.encode(), qos=1, retain=True, properties=will)
        client.on_connect = self._paho_connect
        client.on_disconnect = self._paho_disconnect
        client.on_connect_fail = self._paho_connect_fail
        client.on_publish = self._paho_publish
        client.on_message = self._paho_message
        return client

    def _publish_availability(self, word: str) -> mqtt.MQTTMessageInfo:
        """`online` / `offline`, retained, at QoS 1; over MQTT 5 with the contract's Message Expiry
        Interval, whose countdown at the broker tells the hub when the broker got it (the bare word
        carries no time: contract/availability.py)."""
        properties = publish_properties() if self.broker.protocol == "5" else None
        return self._client.publish(self.topics.availability, word.encode(), qos=1, retain=True, properties=properties)

    def _connect_properties(self) -> Properties | None:
        """MQTT 5 CONNECT properties (paho sends the same ones on every reconnect)."""
        if self.broker.protocol != "5":
            return None
        properties = Properties(PacketTypes.CONNECT)
        properties.MaximumPacketSize = MAX_PACKET_BYTES
        return properties

    # -- paho thread → asyncio loop --------------------------------------------------------------
    def _call(self, function: Callable, *args: object) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(function, *args)

    def _paho_connect(self, client, userdata, flags, reason: ReasonCode, properties) -> None:
        self._call(self._connected, not reason.is_failure, str(reason))

    def _paho_connect_fail(self, client, userdata) -> None:
        self._call(self._connect_failed)

    def _paho_disconnect(self, client, userdata, flags, reason: ReasonCode, properties) -> None:
        self._call(self._disconnected, str(reason))

    def _paho_publish(self, client, userdata, mid: int, reason: ReasonCode, properties) -> None:
        self._call(self._acknowledged, mid, reason.is_failure, str(reason))

    def _paho_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        if message.topic == self.topics.status:
            self._call(self._status_seen, message.payload)
            return
        props = getattr(message, "properties", None)
        response = getattr(props, "ResponseTopic", None) if props else None
        correlation = getattr(props, "CorrelationData", None) if props else None
        self._call(
            self._on_command, Incoming(message.topic, message.payload, response, correlation, bool(message.retain))
        )

    # -- on the asyncio loop ---------------------------------------------------------------------
    def _connected(self, ok: bool, reason: str) -> None:
        if not ok:
            self.last_error = f"broker refused the connection: {reason}"
            log.error("%s (%s)", self.last_error, self.broker.url)
            return
        self.connected = True
        self.last_error = None
        log.info("connected to %s", self.broker.url)
        self._publish_availability(ONLINE)
        self._client.subscribe([(self.topics.command_filter, 1), (self.topics.status, 1)])
        self._client.publish(self.topics.status, self._status_payload(), qos=1, retain=True)
        for topic, payload in self._latest.items():
            self._client.publish(topic, payload, qos=1, retain=True)
        self._wake.set()

    def _connect_failed(self) -> None:
        # paho does not say why; these are the usual causes, and the log is where a technician looks.
        self.last_error = "cannot connect: broker unreachable, wrong port, or TLS handshake refused"
        now = time.monotonic()
        if now - self._last_fail_logged >= 30:
            self._last_fail_logged = now
            log.warning("%s (%s); retrying in the background", self.last_error, self.broker.url)

    def _disconnected(self, reason: str) -> None:
        if self.connected:
            log.warning("disconnected from %s: %s", self.broker.url, reason)
        self.connected = False
        self.last_error = f"disconnected: {reason}"

    def _status_seen(self, payload: bytes) -> None:
        """A status on this venue's own topic. One from another process, published after this one
        started, means two agents run from one config (a cloned PC image): the broker keeps handing
        the shared client id to whichever connected last, so they knock each other off about once a
        second. Both say so (`duplicates`, an event); the older one then reconnects only every
        DUPLICATE_HOLD_OFF_S, so the newer one keeps the session, as docs/mqtt.md promises, and the
        older one still gets its event through on each brief return."""
        seen = _published_by(payload)
        if seen is None or seen[0] == self.identity or seen[1] < self.identity.started_at:
            return  # unreadable, our own, or the last words of the process before this one
        other = seen[0]
        if other not in self._duplicates_seen:
            self._duplicates_seen.add(other)
            self.duplicates += 1
            log.error(
                "another agent (host %s, pid %d, started %s) publishes as this venue with client id %r: two agents "
                "run from one config (a cloned PC image?); give each PC its own [venue] id",
                other.hostname,
                other.pid,
                other.started_at.isoformat(),
                self.client_id,
            )
        if other.started_at > self.identity.started_at:
            self._client.reconnect_delay_set(DUPLICATE_HOLD_OFF_S, DUPLICATE_HOLD_OFF_S)

    def _acknowledged(self, mid: int, failed: bool, reason: str) -> None:
        row = self._handed.pop(mid, None)
        if row is None:
            return  # availability, status or a reply: not from the outbox
        if failed:
            self.rejected += 1
            self.last_rejection = (self._topics_handed.pop(mid, "?"), reason)
            log.error("broker refused outbox message %d: %s", row, reason)
        else:
            self._topics_handed.pop(mid, None)
        self._acked.append(row)
        self._wake.set()

    # -- public ----------------------------------------------------------------------------------
    async def run(self) -> None:
        """Connect, then keep handing queued rows to paho and deleting acknowledged ones."""
        self._loop = asyncio.get_running_loop()
        self.outbox.rewind()  # a new paho session knows nothing handed to an earlier one
        self._client.connect_async(
            self.broker.host, self.broker.port, keepalive=self.broker.keepalive_s, properties=self._connect_properties()
        )
        self._client.loop_start()
        try:
            while True:
                self.pump()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=0.5)
                # Let a burst gather: new rows share one commit, acks one DELETE.
                await asyncio.sleep(DELETE_BATCH_S if self._acked else GROUP_COMMIT_S)
        finally:
            self._client.loop_stop()

    def wake(self) -> None:
        self._wake.set()

    def pump(self) -> None:
        """One delivery step: forget acked messages, let the outbox retry its disk, hand new ones to paho."""
        if self._acked:
            acked, self._acked = self._acked, []
            self.outbox.delete(acked)
        if self.outbox.needs_retry:
            self.outbox.retry_held()  # rate-limited inside: a refusing disk is not hammered
        if not self.connected:
            return
        room = WINDOW - len(self._handed)
        if room <= 0:
            return
        for message in self.outbox.next_to_send(room):
            info = self._client.publish(message.topic, message.payload, qos=1, retain=message.retain)
            self._handed[info.mid] = message.id
            self._topics_handed[info.mid] = message.topic

    @property
    def unacknowledged(self) -> int:
        return len(self._handed)

    def publish_status(self, payload: bytes) -> None:
        """Retained snapshot; only the latest matters, so it bypasses the outbox."""
        if self.connected:
            self._client.publish(self.topics.status, payload, qos=1, retain=True)

    def publish_latest(self, topic: str, payload: bytes) -> None:
        """A retained message of which only the newest matters (the uplink snapshot): sent now when
        connected, else kept — the newest per topic — and sent at the next connection."""
        self._latest[topic] = payload
        if self.connected:
            self._client.publish(topic, payload, qos=1, retain=True)

    def reply(self, topic: str, payload: bytes, correlation: bytes | None) -> None:
        properties = None
        if self.broker.protocol == "5" and correlation is not None:
            properties = Properties(PacketTypes.PUBLISH)
            properties.CorrelationData = correlation
        self._client.publish(topic, payload, qos=1, retain=False, properties=properties)

    async def drain(self, timeout_s: float) -> bool:
        """Wait until the outbox is empty and acknowledged, at most `timeout_s`. True if drained."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.pump()
            if self.outbox.pending == 0 and not self._handed and not self._acked:
                return True
            await asyncio.sleep(0.02)
        return False

    async def close(self, final_status: bytes, timeout_s: float) -> None:
        """Clean stop: final status, retained `offline`, DISCONNECT (so no Will is sent)."""
        if self.connected:
            self._client.publish(self.topics.status, final_status, qos=1, retain=True)
            info = self._publish_availability(OFFLINE)
            deadline = time.monotonic() + max(timeout_s, 0.5)
            while not info.is_published() and time.monotonic() < deadline and self.connected:
                await asyncio.sleep(0.02)
        self._client.disconnect()
        self._client.loop_stop()
