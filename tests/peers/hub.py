"""A subscriber that plays the provincial hub: records every message, lets tests wait for them."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    correlation: bytes | None

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.payload)


class Hub:
    def __init__(
        self,
        port: int,
        subscription: str | list[str] = ("vc/#", "hub/#"),
        protocol: int = mqtt.MQTTv5,
        username: str | None = None,
        password: str | None = None,
    ):
        filters = [subscription] if isinstance(subscription, str) else list(subscription)
        self.messages: list[Received] = []
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"test-hub-{uuid.uuid4().hex[:8]}", protocol=protocol
        )
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe([(topic, 1) for topic in filters])
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("the hub could not subscribe")

    def _on_message(self, client, userdata, message) -> None:
        props = getattr(message, "properties", None)
        correlation = getattr(props, "CorrelationData", None) if props else None
        with self._cond:
            self.messages.append(Received(message.topic, message.payload, bool(message.retain), correlation))
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[Received], bool], timeout: float = 15.0, count: int = 1) -> list[Received]:
        """Wait until `count` messages satisfy `predicate`; returns them (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for m in self.messages if predicate(m)]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(m.topic, m.payload[:120]) for m in self.messages[-10:]]
                    raise AssertionError(f"timed out waiting for {count} message(s); last seen: {seen}")
                self._cond.wait(remaining)

    def events(self) -> list[dict]:
        with self._cond:
            return [m.json() for m in self.messages if m.topic.endswith("/events")]

    def publish(
        self, topic: str, payload: bytes, response_topic: str | None = None, correlation: bytes | None = None
    ) -> None:
        properties = None
        if response_topic or correlation:
            properties = Properties(PacketTypes.PUBLISH)
            if response_topic:
                properties.ResponseTopic = response_topic
            if correlation:
                properties.CorrelationData = correlation
        self.client.publish(topic, payload, qos=1, properties=properties).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
