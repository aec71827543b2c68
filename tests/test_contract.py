"""The MQTT contract against a real mosquitto and the agent as a real process."""

from __future__ import annotations

import json
import signal

import paho.mqtt.client as mqtt

from tests.peers.hub import Hub
from tests.schema_check import assert_valid

BASE = "vc/jilin/changchun/nongan/main"


def test_online_retained_started_event_and_valid_payloads(broker, hub, start_agent):
    agent = start_agent(broker.url, metrics_interval_s=1, flap_interval_s=0.5, status_interval_s=1)
    hub.wait_for(lambda m: m.topic == f"{BASE}/availability" and m.text == "online")
    started = hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "agent.started")[0].json()
    assert started["seq"] == 1 and started["severity"] == "info"
    assert started["message"]["zh"] and started["message"]["en"]
    # A flapping check raises one event per change; metrics come periodically.
    hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "sim.flap.warn")
    hub.wait_for(lambda m: m.topic == f"{BASE}/metrics")
    statuses = hub.wait_for(lambda m: m.topic == f"{BASE}/status", count=2)
    for message in hub.messages:
        leaf = message.topic.rsplit("/", 1)[1]
        if leaf in ("status", "events", "metrics"):
            assert_valid({"events": "event"}.get(leaf, leaf), message.json())
    status = statuses[-1].json()
    assert status["venue"]["county"] == "nongan" and status["venue"]["level"] == "county"
    assert "host.disk" in status["checks"]
    assert status["contacts"]["liaison"]["name"] == "张联络"
    # A subscriber arriving later still sees the retained availability and status at once.
    late = Hub(broker.port, f"{BASE}/+")
    try:
        late.wait_for(lambda m: m.topic == f"{BASE}/availability" and m.retain and m.text == "online", timeout=5)
        late.wait_for(lambda m: m.topic == f"{BASE}/status" and m.retain, timeout=5)
    finally:
        late.close()
    assert agent.stop() == 0


def test_sigterm_stops_cleanly_with_final_offline(broker, hub, start_agent):
    agent = start_agent(broker.url)
    hub.wait_for(lambda m: m.topic == f"{BASE}/availability" and m.text == "online")
    hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "agent.started")
    assert agent.stop() == 0
    stopping = hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "agent.stopping")
    assert_valid("event", stopping[0].json())
    hub.wait_for(lambda m: m.topic == f"{BASE}/availability" and m.text == "offline")
    assert "stopped cleanly" in agent.log()


def test_kill9_turns_availability_offline_through_the_will(broker, hub, start_agent):
    agent = start_agent(broker.url, keepalive_s=5)
    hub.wait_for(lambda m: m.topic == f"{BASE}/availability" and m.text == "online")
    agent.kill9()
    # The broker notices the closed socket at once and publishes the Last Will.
    hub.wait_for(lambda m: m.topic == f"{BASE}/availability" and m.text == "offline", timeout=20)
    # A live subscriber gets the Will with retain=0; it is retained all the same, as a newcomer sees:
    late = Hub(broker.port, f"{BASE}/availability")
    try:
        assert late.wait_for(lambda m: m.retain, timeout=5)[0].text == "offline"
    finally:
        late.close()


def _reply(hub: Hub, topic: str, payload: bytes, correlation: bytes | None, response_topic: str | None):
    hub.publish(topic, payload, response_topic=response_topic, correlation=correlation)
    replies = hub.wait_for(
        lambda m: (
            m.topic == (response_topic or f"{BASE}/replies") and (correlation is None or m.correlation == correlation)
        )
    )
    body = replies[-1].json()
    assert_valid("reply", body)
    return replies[-1], body


def test_commands_ping_and_bad_input_get_replies(broker, hub, start_agent):
    agent = start_agent(broker.url)
    hub.wait_for(lambda m: m.topic == f"{BASE}/availability" and m.text == "online")
    hub.wait_for(lambda m: m.topic == f"{BASE}/events")  # commands subscribed by now
    response = f"{BASE}/cmd/replies/test"
    message, body = _reply(hub, f"{BASE}/cmd/ping", b"{}", b"corr-1", response)
    assert body["ok"] is True and body["result"]["pong"] is True and message.correlation == b"corr-1"
    assert body["correlation_id"] == "corr-1"

    _, body = _reply(hub, f"{BASE}/cmd/ping", b"{not json", b"corr-2", response)
    assert body["ok"] is False and body["error"]["code"] == "cmd.bad_json"
    assert body["error"]["message"]["zh"] and "not valid JSON" in body["error"]["message"]["en"]

    _, body = _reply(hub, f"{BASE}/cmd/reboot", b"{}", b"corr-3", response)
    assert body["error"]["code"] == "cmd.unknown" and "ping" in body["error"]["message"]["en"]

    _, body = _reply(hub, f"{BASE}/cmd/ping", b'{"args": 5, "bogus": 1}', b"corr-4", response)
    assert body["error"]["code"] == "cmd.bad_payload"
    assert "args" in body["error"]["message"]["en"] and "bogus" in body["error"]["message"]["en"]

    _, body = _reply(hub, f"{BASE}/cmd/ping", b"[1, 2]", b"corr-5", response)
    assert body["error"]["code"] == "cmd.bad_payload"

    _, body = _reply(hub, f"{BASE}/cmd/ping", bytes([0xFF, 0xFE]), b"corr-6", response)
    assert body["error"]["code"] == "cmd.bad_json"

    # No response topic at all: the reply goes to the venue's replies topic.
    _, body = _reply(hub, f"{BASE}/cmd/ping", b"{}", None, None)
    assert body["ok"] is True
    # The agent survived all of that.
    assert agent.alive
    assert agent.stop() == 0


def test_mqtt311_mode_with_reply_fields_in_the_body(broker, hub, start_agent):
    agent = start_agent(broker.url, protocol="3.1.1")
    hub.wait_for(lambda m: m.topic == f"{BASE}/availability" and m.text == "online")
    hub.wait_for(lambda m: m.topic == f"{BASE}/events")
    v311 = Hub(broker.port, f"{BASE}/cmd/replies/#", protocol=mqtt.MQTTv311)
    try:
        request = {"response_topic": f"{BASE}/cmd/replies/answers", "correlation_id": "abc"}
        v311.publish(f"{BASE}/cmd/ping", json.dumps(request).encode())
        body = v311.wait_for(lambda m: m.topic == f"{BASE}/cmd/replies/answers")[0].json()
        assert body["ok"] is True and body["correlation_id"] == "abc"
    finally:
        v311.close()
    assert agent.stop() == 0


def test_sighup_with_invalid_config_keeps_running_and_says_why(broker, hub, start_agent):
    agent = start_agent(broker.url)
    hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "agent.started")
    good = agent.config.read_text(encoding="utf-8")
    agent.config.write_text(good.replace("[agent]", "[agent]\nstatus_intervall_s = 3"), encoding="utf-8")
    agent.signal(signal.SIGHUP)
    rejected = hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "config.reload_rejected")
    text = rejected[0].json()["message"]["en"]
    assert "status_intervall_s" in text and "unknown key" in text
    assert agent.alive
    agent.config.write_text(good.replace("flap_interval_s = 3", "flap_interval_s = 0.2"), encoding="utf-8")
    agent.signal(signal.SIGHUP)
    hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "config.reloaded")
    # The new flap interval took effect: changes now arrive several times a second.
    hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"].startswith("sim.flap"), count=6, timeout=10)
    assert agent.stop() == 0
