"""The hub's MQTT side: one persistent MQTT 5 session on a shared subscription, and a retained-state snapshot.

- **Shared subscription** `$share/<group>/<scope>` at QoS 1: the broker hands each message to one
  process of the group, so N hub processes split the stream.
- **Persistent session**: `clean_start = False` with a Session Expiry Interval, and a fixed client
  id per process (`venue-hub-<group>-<instance>`): while a hub is down the broker queues what it would
  have received (up to its `max_queued_messages`), and hands it over on reconnect.
- **Acknowledged after commit**: paho runs with `manual_ack`; the store's thread sends each PUBACK only
  once the message's transaction committed. A hub killed between receipt and commit has not
  acknowledged, so the broker delivers the message again (the store de-duplicates it).
- **Receive Maximum** bounds the messages in flight to this process, which is also the back-pressure
  when the database stalls: nothing acknowledged, nothing more sent.
- **Retained state**: MQTT 5 (§4.8.2) says retained messages are not sent to a *shared*
  subscription when it is made — but mosquitto 2.0.11 (the broker here; tests/test_hub_broker.py pins
  it) sends them anyway, to *every* member of the group, on every SUBSCRIBE. Neither is what the hub
  wants, so the shared subscription asks for none (Retain Handling 2, "do not send", which mosquitto
  honours), and after each connect a second, short-lived, non-shared clean session subscribes to the
  retained leaves of the scope (`status`, `selftest`, then `availability`), takes the retained copies
  (flagged retain=1) until the broker has been quiet for a moment, and disconnects. The store applies
  them as a snapshot: a live message that arrived meanwhile wins (see `Store._availability`), a
  retained status proves only that the venue was alive at its own `ts`. (Over MQTT 3.1.1 there is no
  Retain Handling: retained copies arriving on the shared subscription are treated the same way.)
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from contract import topics
from contract.availability import broker_age_s
from contract.broker import BrokerConfig, max_packet_size
from contract.mqtt_client import make_client
from hub.config.models import HubSection
from hub.ingest.decode import Incoming
from hub.scope import leaf_filter

log = logging.getLogger("hub.mqtt")

# Messages in flight to this process (unacknowledged until stored). 4000, not 1000: with two batches
# in the hub at once (one decoding, one storing) and each acknowledged only after its commit, 1000 left
# the queue empty between batches — the hub drained ~3,000 msg/s instead of ~4,200 in bench/hub_load.py
# (2026-12-02). 4000 × a 6 KB status is 24 MB held at most; the back-pressure is the same.
RECEIVE_MAXIMUM = 4000
SNAPSHOT_LEAVES = (topics.STATUS, topics.SELFTEST, topics.AVAILABILITY)
SNAPSHOT_QUIET_S = 1.0
SNAPSHOT_MAX_S = 120.0


def _broker_age(message: mqtt.MQTTMessage) -> int | None:
    """The seconds a message waited at the broker(s), from its Message Expiry Interval (None without
    one: MQTT 3.1.1, a 3.1.1 bridge, an older agent; see contract/availability.py). mosquitto 2.0.11
    counts it down in a persistent session's queue, for an unacknowledged copy sent again, for a
    retained copy, across an MQTT 5 bridge and through its own restart (tests/test_hub_broker.py)."""
    properties = getattr(message, "properties", None)
    return broker_age_s(getattr(properties, "MessageExpiryInterval", None)) if properties is not None else None


def hub_client_id(broker: BrokerConfig, hub: HubSection) -> str:
    return broker.client_id or f"venue-hub-{hub.group}-{hub.instance}"


def shared_filter(hub: HubSection) -> str:
    return f"$share/{hub.group}/{hub.scope}"


def _connect_properties(hub: HubSection) -> Properties:
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = hub.session_expiry_s
    properties.ReceiveMaximum = RECEIVE_MAXIMUM
    # A little above the largest payload the hub accepts: a message slightly over it still arrives and is
    # counted as `too_large` (with its topic); a giant one is dropped by the broker, not held in memory.
    properties.MaximumPacketSize = max_packet_size(hub.max_payload_bytes)
    return properties


class Subscriber:
    """The persistent shared-subscription session; messages go to `deliver` (on paho's thread)."""

    def __init__(
        self,
        broker: BrokerConfig,
        hub: HubSection,
        password: str | None,
        deliver: Callable[[Incoming], None],
        on_session: Callable[[bool], None],
        private_filters: tuple[str, ...] = (),
    ):
        self.broker = broker
        self.hub = hub
        self.password = password
        self.deliver = deliver
        self.on_session = on_session
        self.private_filters = private_filters  # non-shared: replies to this process's own requests
        self.client_id = hub_client_id(broker, hub)
        self.client = make_client(broker, self.client_id, password)
        self.v5 = broker.protocol == "5"
        self.client.manual_ack_set(True)
        self.client.reconnect_delay_set(int(max(1, broker.reconnect_min_s)), int(max(1, broker.reconnect_max_s)))
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self._shared_mid: int | None = None
        self.connected = threading.Event()
        self.connected_at = datetime.now(UTC)
        self.accepting = True
        self._ack_lock = threading.Lock()

    def start(self) -> None:
        if self.v5:
            self.client.connect_async(
                self.broker.host,
                self.broker.port,
                self.broker.keepalive_s,
                clean_start=False,
                properties=_connect_properties(self.hub),
            )
        else:
            self.client.connect_async(self.broker.host, self.broker.port, self.broker.keepalive_s)
        self.client.loop_start()

    def _on_connect(self, client: mqtt.Client, _userdata, flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        session_present = bool(getattr(flags, "session_present", False))
        self.connected_at = datetime.now(UTC)
        if self.v5:
            _result, self._shared_mid = client.subscribe(
                shared_filter(self.hub), options=SubscribeOptions(qos=1, retainHandling=2)
            )
            for private in self.private_filters:
                client.subscribe(private, options=SubscribeOptions(qos=1, retainHandling=2))
        else:
            _result, self._shared_mid = client.subscribe(
                [(shared_filter(self.hub), 1), *((private, 1) for private in self.private_filters)]
            )
        log.info(
            "connected to %s:%s as %s (session %s)",
            self.broker.host,
            self.broker.port,
            self.client_id,
            "resumed" if session_present else "new",
        )
        self.connected.set()
        self.on_session(session_present)

    def _on_subscribe(self, _client, _userdata, mid: int, reason_codes, _properties) -> None:
        """Logged on the broker's SUBACK, not when SUBSCRIBE is queued: only from then on does the
        broker deal this process its share (a message published before it is not this session's)."""
        if mid != self._shared_mid:
            return
        failed = [code for code in reason_codes if getattr(code, "is_failure", False)]
        if failed:
            log.error("the broker refused the subscription to %s: %s", shared_filter(self.hub), failed[0])
            return
        log.info("subscribed to %s", shared_filter(self.hub))

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        self.connected.clear()
        if self.accepting:
            log.warning("disconnected from the broker (%s); reconnecting", reason_code)

    def _on_message(self, _client, _userdata, message: mqtt.MQTTMessage) -> None:
        if not self.accepting:
            return  # stopping: not acknowledged, so the broker keeps it for the next start
        self.deliver(
            Incoming(
                topic=message.topic,
                payload=message.payload,
                retain=bool(message.retain),
                received_at=datetime.now(UTC),
                mid=message.mid,
                qos=message.qos,
                snapshot_started=self.connected_at if message.retain else None,
                broker_age_s=_broker_age(message),
            )
        )

    def ack(self, incoming: Incoming) -> None:
        if incoming.qos > 0:
            with self._ack_lock:
                self.client.ack(incoming.mid, incoming.qos)

    def stop(self) -> None:
        """Disconnect, keeping the session (and its queue) on the broker until it expires."""
        self.client.disable_logger()  # paho logs an error for the disconnect it was asked for
        self.client.disconnect()
        self.client.loop_stop()


def read_retained(
    broker: BrokerConfig,
    hub: HubSection,
    password: str | None,
    deliver: Callable[[Incoming], None],
    stop: threading.Event,
) -> int:
    """Read the retained status/selftest/availability of every venue in scope once; returns how many."""
    started = datetime.now(UTC)
    client = make_client(broker, f"{hub_client_id(broker, hub)}-snapshot-{uuid.uuid4().hex[:8]}", password)
    count = 0
    last = time.monotonic()
    subscribed = threading.Event()
    lock = threading.Lock()

    def on_connect(c: mqtt.Client, _u, _f, reason_code, _p) -> None:
        if reason_code.is_failure:
            log.error("snapshot connection refused: %s", reason_code)
            return
        c.subscribe([(leaf_filter(hub.scope, leaf), 1) for leaf in SNAPSHOT_LEAVES])

    def on_subscribe(*_args) -> None:
        nonlocal last
        with lock:
            last = time.monotonic()
        subscribed.set()

    def on_message(_c, _u, message: mqtt.MQTTMessage) -> None:
        nonlocal count, last
        if not message.retain:
            return  # live traffic arrives on the shared subscription
        with lock:
            count += 1
            last = time.monotonic()
        deliver(
            Incoming(
                topic=message.topic,
                payload=message.payload,
                retain=True,
                received_at=datetime.now(UTC),
                snapshot_started=started,
                broker_age_s=_broker_age(message),
            )
        )

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    try:
        if broker.protocol == "5":
            client.connect(broker.host, broker.port, broker.keepalive_s, clean_start=True)
        else:
            client.connect(broker.host, broker.port, broker.keepalive_s)
    except OSError as exc:
        log.warning("cannot read the retained state: %s", exc)
        return 0
    client.loop_start()
    deadline = time.monotonic() + SNAPSHOT_MAX_S
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            with lock:
                quiet = time.monotonic() - last
            if subscribed.is_set() and quiet >= SNAPSHOT_QUIET_S:
                break
            time.sleep(0.05)
    finally:
        client.disable_logger()
        client.disconnect()
        client.loop_stop()
    log.info("read %d retained message(s) of scope %s", count, hub.scope)
    return count
