"""What the hub's ingest design relies on, pinned against the real mosquitto 2.x it runs with:

- retained messages and shared subscriptions: MQTT 5 (§4.8.2) says a shared subscription gets no
  retained messages when it is made; mosquitto 2.0.11 sends them anyway, to every member, and honours
  Retain Handling 2 ("do not send") — so the hub asks for none on its shared subscription and reads
  the retained state once through a non-shared session (hub/ingest/subscriber.py);
- a shared subscription splits the stream: each message goes to one member of the group;
- a persistent session (clean_start False + session expiry) of a shared-subscription member keeps
  receiving its share while it is disconnected, and gets it on reconnect; the group is dealt strictly in
  turn, a disconnected member's turn kept and a new member's coming last;
- the Message Expiry Interval an availability carries (contract/availability.py) is counted down by the
  seconds a copy waited — for a live copy (0), a copy queued in a disconnected persistent session, an
  unacknowledged copy sent again, a retained copy, the Last Will (live and retained), across an MQTT 5
  bridge whose link was down, and through a restart of a broker with `persistence true` — and is absent
  over MQTT 3.1.1 and across a 3.1.1 bridge (the hub then orders by receipt, hub/ingest/availability_order.py).
If a mosquitto upgrade changes any of these, this file says so before the hub misbehaves.

The ages are checked against what the test itself measured around each wait (never against a fixed
duration): the broker counts whole seconds, so a copy that waited between `least` and `most` seconds
is handed over with an age strictly between `least − 1` and `most + 1`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from contract.availability import broker_age_s, publish_properties, will_properties
from sim.broker import Mosquitto
from sim.netcut import CuttableProxy


class Member:
    """A bare MQTT 5 client that records what it receives."""

    def __init__(
        self,
        port: int,
        client_id: str | None = None,
        clean_start: bool = True,
        expiry: int = 0,
        *,
        protocol: int = mqtt.MQTTv5,
        will_topic: str | None = None,
        manual_ack: bool = False,
    ):
        self.received: list[tuple[str, bytes, bool]] = []
        self.ages: list[tuple[str, bytes, int | None]] = []  # topic, payload, broker_age_s of each message
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or f"m-{uuid.uuid4().hex[:8]}", protocol=protocol
        )
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.manual_ack_set(manual_ack)  # True: nothing acknowledged, as a hub killed before its commit
        if will_topic is not None:  # the agent's Will, exactly (agent/mqtt/link.py)
            self.client.will_set(will_topic, b"offline", qos=1, retain=True, properties=will_properties())
        if protocol == mqtt.MQTTv5:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = expiry
            self.client.connect("127.0.0.1", port, clean_start=clean_start, properties=properties)
        else:
            self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _c, _u, message) -> None:
        properties = getattr(message, "properties", None)
        remaining = getattr(properties, "MessageExpiryInterval", None) if properties is not None else None
        with self._lock:
            self.received.append((message.topic, message.payload, bool(message.retain)))
            self.ages.append((message.topic, message.payload, broker_age_s(remaining)))

    def subscribe(self, topic: str) -> None:
        self._subscribed.clear()
        self.client.subscribe(topic, options=SubscribeOptions(qos=1))
        assert self._subscribed.wait(5)

    def payloads(self) -> list[bytes]:
        with self._lock:
            return [p for _t, p, _r in self.received]

    def age_of(self, payload: bytes, timeout: float = 10.0) -> int | None:
        """The broker age of the first copy of `payload` received (waiting for it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = [age for _t, p, age in self.ages if p == payload]
            if found:
                return found[0]
            time.sleep(0.02)
        raise AssertionError(f"{payload!r} never arrived; got {self.payloads()}")

    def vanish(self) -> None:
        """Drop the connection without DISCONNECT, as a killed process does: the broker sends the Will."""
        self.client.loop_stop()
        self.client.socket().close()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _publish(port: int, topic: str, payloads: list[bytes], retain: bool = False) -> None:
    publisher = Member(port)
    for payload in payloads:
        publisher.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)
    publisher.close()


def _settle(member: Member, count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while len(member.payloads()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # and nothing more arrives


def test_retained_messages_and_shared_subscriptions(tmp_path) -> None:
    with Mosquitto(workdir=tmp_path) as broker:
        _publish(broker.port, "vc/jilin/changchun/nongan/main/status", [b"retained-status"], retain=True)
        plain, shared_a, shared_b, shared_none = (Member(broker.port) for _ in range(4))
        plain.subscribe("vc/jilin/+/+/+/status")
        shared_a.subscribe("$share/hub/vc/jilin/#")
        shared_b.subscribe("$share/hub/vc/jilin/#")
        shared_none._subscribed.clear()
        shared_none.client.subscribe("$share/hub/vc/jilin/#", options=SubscribeOptions(qos=1, retainHandling=2))
        assert shared_none._subscribed.wait(5)
        for member in (plain, shared_a, shared_b):
            _settle(member, 1)
        expected = [("vc/jilin/changchun/nongan/main/status", b"retained-status", True)]
        assert plain.received == expected
        # Not what MQTT 5 §4.8.2 says, but what mosquitto 2.0.11 does: every member gets the retained copy.
        assert shared_a.received == expected and shared_b.received == expected
        assert shared_none.received == []  # Retain Handling 2 is honoured: what the hub asks for
        for member in (plain, shared_a, shared_b, shared_none):
            member.close()


def test_a_shared_subscription_splits_the_stream_between_members(tmp_path) -> None:
    with Mosquitto(workdir=tmp_path) as broker:
        a, b = Member(broker.port), Member(broker.port)
        a.subscribe("$share/hub/vc/jilin/#")
        b.subscribe("$share/hub/vc/jilin/#")
        sent = [f"m{i}".encode() for i in range(40)]
        _publish(broker.port, "vc/jilin/changchun/nongan/main/events", sent)
        _settle(a, 1)
        got_a, got_b = a.payloads(), b.payloads()
        assert sorted(got_a + got_b) == sorted(sent)  # each message once, to one member
        assert got_a and got_b
        a.close()
        b.close()


def test_a_disconnected_member_with_a_persistent_session_gets_its_share_on_reconnect(tmp_path) -> None:
    with Mosquitto(workdir=tmp_path) as broker:
        a = Member(broker.port, client_id="hub-a", clean_start=False, expiry=600)
        a.subscribe("$share/hub/vc/jilin/#")
        b = Member(broker.port)
        b.subscribe("$share/hub/vc/jilin/#")
        a.close()
        sent = [f"m{i}".encode() for i in range(20)]
        _publish(broker.port, "vc/jilin/changchun/nongan/main/events", sent)
        _settle(b, 1)
        a_again = Member(broker.port, client_id="hub-a", clean_start=False, expiry=600)
        _settle(a_again, 1)
        got_b, got_a = b.payloads(), a_again.payloads()
        assert sorted(got_a + got_b) == sorted(sent)
        # mosquitto keeps dealing to the disconnected member: its share waited in its session.
        assert got_a, "the offline member's share was redistributed (mosquitto changed its behaviour)"
        a_again.close()
        b.close()


def test_a_shared_group_is_dealt_in_turn_and_a_new_member_comes_last(tmp_path) -> None:
    """The deal the two-process availability test (tests/test_availability_expiry.py) relies on to put a
    venue's `offline` in one member's queue and its `online` with the other: strictly in turn, a
    disconnected member's turn kept, a member that joins placed after those already there."""
    with Mosquitto(workdir=tmp_path) as broker:
        a = Member(broker.port, client_id="hub-a", clean_start=False, expiry=600)
        a.subscribe("$share/hub/vc/jilin/#")
        _publish(broker.port, "vc/jilin/changchun/nongan/main/events", [b"before"])
        _settle(a, 1)
        a.close()
        _publish(broker.port, "vc/jilin/changchun/nongan/main/events", [b"alone"])  # a's queue: the only member
        b = Member(broker.port)
        b.subscribe("$share/hub/vc/jilin/#")
        _publish(broker.port, "vc/jilin/changchun/nongan/main/events", [f"m{i}".encode() for i in range(6)])
        a_again = Member(broker.port, client_id="hub-a", clean_start=False, expiry=600)
        _settle(a_again, 4)
        assert b.payloads() == [b"m1", b"m3", b"m5"]
        assert a_again.payloads() == [b"alone", b"m0", b"m2", b"m4"]
        a_again.close()
        b.close()


# -- the Message Expiry Interval of availabilities (contract/availability.py) ------------------------------

TOPIC = "vc/jilin/changchun/nongan/main/availability"
WAIT_S = 2.0  # how long a copy is made to wait: long enough that an age of 0 or 1 cannot pass for it


def _publish_counted(port: int, payload: bytes, *, counted: bool = True) -> tuple[float, float]:
    """Publish an availability retained, as the agent does (with the contract's interval unless not
    `counted`); returns the test's clock just before publishing and once the broker acknowledged it."""
    publisher = Member(port)
    before = time.monotonic()
    properties = publish_properties() if counted else None
    publisher.client.publish(TOPIC, payload, qos=1, retain=True, properties=properties).wait_for_publish(5)
    acked = time.monotonic()
    publisher.close()
    return before, acked


def _assert_waited(age: int | None, least: float, most: float) -> None:
    """The broker's age of a copy that waited at least `least` and at most `most` seconds (by the test's
    clock): whole seconds of the broker's clock, so strictly within one second of that span."""
    assert age is not None, "the Message Expiry Interval did not come through"
    assert least - 1 < age < most + 1, f"age {age} s for a copy that waited {least:.2f}–{most:.2f} s"


def test_the_expiry_interval_counts_down_while_a_copy_waits(tmp_path) -> None:
    """Live (0), queued in a disconnected persistent session, sent again unacknowledged, retained — and
    nothing at all without the property, or to an MQTT 3.1.1 subscriber."""
    with Mosquitto(workdir=tmp_path) as broker:
        live = Member(broker.port)
        live.subscribe("vc/#")
        old_client = Member(broker.port, protocol=mqtt.MQTTv311)
        old_client.subscribe("vc/#")
        queued = Member(broker.port, client_id="hub-a", clean_start=False, expiry=600)
        queued.subscribe("$share/venue-hub/vc/jilin/#")
        queued.close()  # down: its session keeps its share
        stuck = Member(broker.port, client_id="hub-stuck", clean_start=False, expiry=600, manual_ack=True)
        stuck.subscribe("$share/other/vc/jilin/#")  # a group of its own: gets it, never acknowledges it

        before, acked = _publish_counted(broker.port, b"online")
        _assert_waited(live.age_of(b"online"), 0, time.monotonic() - before)
        assert stuck.age_of(b"online") is not None
        stuck.vanish()  # killed before its commit: the broker sends the copy again on reconnect
        assert old_client.age_of(b"online") is None  # MQTT 3.1.1 has no properties

        time.sleep(WAIT_S)
        back = time.monotonic()
        queued_again = Member(broker.port, client_id="hub-a", clean_start=False, expiry=600)
        stuck_again = Member(broker.port, client_id="hub-stuck", clean_start=False, expiry=600)
        reader = Member(broker.port)
        reader.subscribe(TOPIC)  # the retained copy
        for member in (queued_again, stuck_again, reader):
            _assert_waited(member.age_of(b"online"), back - acked, time.monotonic() - before)

        _publish_counted(broker.port, b"bare", counted=False)  # an older agent, or another tool
        assert live.age_of(b"bare") is None
        for member in (live, old_client, queued_again, stuck_again, reader):
            member.close()


def test_the_last_will_counts_down_live_and_retained(tmp_path) -> None:
    with Mosquitto(workdir=tmp_path) as broker:
        watcher = Member(broker.port)
        watcher.subscribe(TOPIC)
        venue = Member(broker.port, will_topic=TOPIC)
        before = time.monotonic()
        venue.vanish()
        _assert_waited(watcher.age_of(b"offline"), 0, time.monotonic() - before)
        published_by = time.monotonic()  # the broker had stored the retained Will by now

        time.sleep(WAIT_S)
        reading = time.monotonic()
        reader = Member(broker.port)
        reader.subscribe(TOPIC)
        _assert_waited(reader.age_of(b"offline"), reading - published_by, time.monotonic() - before)
        watcher.close()
        reader.close()


def _bridge(remote_port: int, protocol: str) -> str:
    """A prefecture broker's bridge to the province, as docs/hub.md configures it (but the protocol)."""
    return (
        "connection changchun-to-province\n"
        f"address 127.0.0.1:{remote_port}\n"
        f"bridge_protocol_version {protocol}\n"
        "topic vc/jilin/changchun/# both 1\n"
        "cleansession false\n"
        "try_private true\n"
        "notifications false\n"
        "restart_timeout 1\n"
    )


@pytest.mark.parametrize("protocol", ["mqttv50", "mqttv311"])
def test_an_mqtt5_bridge_keeps_counting_and_a_311_bridge_drops_the_interval(tmp_path: Path, protocol: str) -> None:
    """An availability published at a prefecture broker while its bridge to the province is down waits
    in the bridge's queue; over an MQTT 5 bridge it reaches the province with that wait counted, over
    3.1.1 (mosquitto's default `bridge_protocol_version`) with no interval at all."""
    (tmp_path / "province").mkdir()
    (tmp_path / "prefecture").mkdir()
    with Mosquitto(workdir=tmp_path / "province") as province:
        line = CuttableProxy(province.port)
        prefecture = Mosquitto(workdir=tmp_path / "prefecture", extra_config=_bridge(line.port, protocol)).start()
        try:
            watcher = Member(province.port)
            watcher.subscribe("vc/#")
            deadline = time.monotonic() + 30
            while not watcher.payloads() and time.monotonic() < deadline:  # until the bridge is up
                _publish_counted(prefecture.port, b"probe")
                time.sleep(0.5)
            before, _acked = _publish_counted(prefecture.port, b"online")
            live_age = watcher.age_of(b"online")
            line.sever("reset")
            before, acked = _publish_counted(prefecture.port, b"offline")
            time.sleep(WAIT_S)
            restored = time.monotonic()
            line.restore()
            queued_age = watcher.age_of(b"offline", timeout=30)
            if protocol == "mqttv50":
                _assert_waited(live_age, 0, restored - before)
                _assert_waited(queued_age, restored - acked, time.monotonic() - before)
            else:
                assert (live_age, queued_age) == (None, None)
            watcher.close()
        finally:
            prefecture.close()
            line.close()


def test_a_broker_restart_keeps_the_countdown(tmp_path: Path) -> None:
    """With `persistence true` (what docs/hub.md asks of a production broker) a retained copy and a
    queued one come back after a restart with the time the broker was down counted too."""
    # mosquitto started as root writes its database as the user `mosquitto`, who cannot enter pytest's
    # private tmp_path: the database goes to a directory of its own under the system's temporary directory.
    store = Path(tempfile.mkdtemp(prefix="venue-agent-persist-"))
    os.chmod(store, 0o777)
    broker = Mosquitto(workdir=tmp_path)
    config = broker.config_path.read_text(encoding="utf-8")
    persistent = config.replace("persistence false\n", f"persistence true\npersistence_location {store}/\n")
    broker.config_path.write_text(persistent, encoding="utf-8")
    broker.start()
    try:
        queued = Member(broker.port, client_id="hub-a", clean_start=False, expiry=600)
        queued.subscribe("$share/venue-hub/vc/jilin/#")
        queued.close()
        before, acked = _publish_counted(broker.port, b"online")
        broker.stop()  # SIGTERM: the database is written
        time.sleep(WAIT_S)
        broker.start()
        back = time.monotonic()
        queued_again = Member(broker.port, client_id="hub-a", clean_start=False, expiry=600)
        reader = Member(broker.port)
        reader.subscribe(TOPIC)
        for member in (queued_again, reader):
            _assert_waited(member.age_of(b"online"), back - acked, time.monotonic() - before)
            member.close()
    finally:
        broker.close()
        shutil.rmtree(store, ignore_errors=True)
