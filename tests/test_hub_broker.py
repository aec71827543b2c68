"""What the hub's ingest design relies on, pinned against the real mosquitto 2.x it runs with:

- retained messages and shared subscriptions: MQTT 5 (§4.8.2) says a shared subscription gets no
  retained messages when it is made; mosquitto 2.0.11 sends them anyway, to every member, and honours
  Retain Handling 2 ("do not send") — so the hub asks for none on its shared subscription and reads
  the retained state once through a non-shared session (hub/ingest/subscriber.py);
- a shared subscription splits the stream: each message goes to one member of the group;
- a persistent session (clean_start False + session expiry) of a shared-subscription member keeps
  receiving its share while it is disconnected, and gets it on reconnect.
If a mosquitto upgrade changes any of these, this file says so before the hub misbehaves.
"""

from __future__ import annotations

import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from sim.broker import Mosquitto


class Member:
    """A bare MQTT 5 client that records what it receives."""

    def __init__(self, port: int, client_id: str | None = None, clean_start: bool = True, expiry: int = 0):
        self.received: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or f"m-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = expiry
        self.client.connect("127.0.0.1", port, clean_start=clean_start, properties=properties)
        self.client.loop_start()

    def _on_message(self, _c, _u, message) -> None:
        with self._lock:
            self.received.append((message.topic, message.payload, bool(message.retain)))

    def subscribe(self, topic: str) -> None:
        self._subscribed.clear()
        self.client.subscribe(topic, options=SubscribeOptions(qos=1))
        assert self._subscribed.wait(5)

    def payloads(self) -> list[bytes]:
        with self._lock:
            return [p for _t, p, _r in self.received]

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
