"""Hostile and careless commands against the real daemon over a real mosquitto (issue: the spine's edges).

Reply topics outside the venue's own reply subtree or against the MQTT rules are refused without a
reply (and without the broker dropping the agent); every other request gets exactly one reply;
retained commands are not acted on; a flood of self-tests is coalesced and does not hold up a stop;
SIGHUP bursts are serialised.
"""

from __future__ import annotations

import itertools
import json
import signal
import time

from sim.venue import write_config
from tests.peers.agent_process import AgentProcess
from tests.peers.hub import Hub

BASE = "vc/jilin/changchun/nongan/main"
REPLIES = f"{BASE}/cmd/replies"


def _started(hub: Hub) -> None:
    hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "agent.started")


def _ping(hub: Hub, token: str, timeout: float = 15) -> dict:
    hub.publish(f"{BASE}/cmd/ping", b"{}", response_topic=f"{REPLIES}/{token}", correlation=token.encode())
    return hub.wait_for(lambda m: m.topic == f"{REPLIES}/{token}", timeout=timeout)[0].json()


def _ping_until_answered(hub: Hub, token: str, within_s: float) -> dict:
    deadline = time.monotonic() + within_s
    for attempt in itertools.count():
        try:
            return _ping(hub, f"{token}-{attempt}", timeout=min(5.0, max(0.1, deadline - time.monotonic())))
        except AssertionError:
            if time.monotonic() >= deadline:
                raise


def _latest_status(hub: Hub) -> dict:
    return [m for m in hub.messages if m.topic == f"{BASE}/status"][-1].json()


def test_reply_topics_outside_the_venue_or_against_mqtt_rules_are_refused(broker, hub, start_agent):
    agent = start_agent(broker.url, flap_interval_s=3600, status_interval_s=1)
    _started(hub)
    hostile = [
        f"{BASE}/events",  # inject into its own events
        f"{BASE}/status",
        "vc/jilin/changchun/dehui/main/cmd/ping",  # another venue's command
        "vc/liaoning/shenyang/x/main/cmd/replies/a",  # another province
        f"{BASE}/cmd/replies",  # the subtree itself, not below it
    ]
    for number, topic in enumerate(hostile):
        hub.publish(f"{BASE}/cmd/ping", b"{}", response_topic=topic, correlation=f"h{number}".encode())
    # Through the body (MQTT 3.1.1 style) come topics mosquitto would not even take from the hub as a
    # property: control characters (the agent publishing to one made mosquitto drop its connection),
    # non-characters, a lone surrogate, U+0000, a wildcard, 70,000 bytes, and a number.
    in_body = [
        f"{BASE}/events",
        f"{REPLIES}/a\u0001b",
        f"{REPLIES}/a\u0085b",
        f"{REPLIES}/a\uffffb",
        f"{REPLIES}/\ud800",
        f"{REPLIES}/a\u0000",
        f"{REPLIES}/+",
        f"{REPLIES}/" + "x" * 70_000,
        5,
    ]
    for number, topic in enumerate(in_body):
        body = json.dumps({"response_topic": topic, "correlation_id": f"b{number}"}).encode()
        hub.publish(f"{BASE}/cmd/ping", body)

    # A well-formed request after them is answered: the agent is still connected and serving.
    assert _ping(hub, "after")["ok"] is True
    refused = len(hostile) + len(in_body)
    hub.wait_for(lambda m: m.topic == f"{BASE}/status" and (m.json().get("commands") or {}).get("refused") == refused)
    time.sleep(0.5)
    # No reply went anywhere for any of them (the hub sees all of vc/#, its own requests included).
    leaked = [m for m in hub.messages if b'"venue-agent/reply/1"' in m.payload and m.topic != f"{REPLIES}/after"]
    assert leaked == [], leaked
    # It never lost its broker connection over any of it: one `online`, no reconnect.
    onlines = [m for m in hub.messages if m.topic == f"{BASE}/availability" and m.text == "online"]
    assert len(onlines) == 1
    assert "refused, no reply sent" in agent.log()
    assert agent.stop() == 0


def test_every_malformed_request_gets_an_error_reply(broker, hub, start_agent):
    agent = start_agent(broker.url, flap_interval_s=3600)
    _started(hub)
    cases = {
        "deep": (b"[" * 5000 + b"]" * 5000, "cmd.bad_json"),
        "digits": (b'{"args": {"n": ' + b"9" * 5000 + b"}}", "cmd.bad_json"),
        "surrogate": (b'{"correlation_id": "\\ud800"}', "cmd.bad_payload"),
        "big": (b'{"args": {"x": "' + b"y" * 300_000 + b'"}}', "cmd.too_large"),
        "args": (b'{"args": 5}', "cmd.bad_payload"),
    }
    for token, (payload, _code) in cases.items():
        hub.publish(f"{BASE}/cmd/ping", payload, response_topic=f"{REPLIES}/{token}", correlation=token.encode())
    for token, (_payload, code) in cases.items():
        reply = hub.wait_for(lambda m, t=token: m.topic == f"{REPLIES}/{t}")[0].json()
        assert reply["ok"] is False and reply["error"]["code"] == code, (token, reply)
        assert reply["error"]["message"]["zh"] and reply["error"]["message"]["en"]
    # Deeply nested arguments that parse: the handler refuses them, it does not die.
    nested = json.dumps({"args": {"conferences": [[[[[[[[]]]]]]]]}}).encode()
    hub.publish(f"{BASE}/cmd/schedule", nested, response_topic=f"{REPLIES}/nested", correlation=b"n")
    assert hub.wait_for(lambda m: m.topic == f"{REPLIES}/nested")[0].json()["error"]["code"] == "cmd.bad_payload"
    assert _ping(hub, "still")["ok"] is True
    assert "Task exception was never retrieved" not in agent.log()
    assert agent.stop() == 0


def test_retained_commands_are_not_acted_on(broker, hub, start_agent):
    # A hub left a retained ping behind; the agent connects afterwards and must not answer it.
    hub.client.publish(
        f"{BASE}/cmd/ping", json.dumps({"response_topic": f"{REPLIES}/ret"}).encode(), qos=1, retain=True
    ).wait_for_publish(5)
    agent = start_agent(broker.url, flap_interval_s=3600, status_interval_s=1)
    _started(hub)
    assert _ping(hub, "live")["ok"] is True
    hub.wait_for(
        lambda m: m.topic == f"{BASE}/status" and (m.json().get("commands") or {}).get("ignored_retained") == 1
    )
    assert not [m for m in hub.messages if m.topic == f"{REPLIES}/ret"]
    assert agent.stop() == 0


def test_a_selftest_flood_is_coalesced_and_does_not_hold_up_a_stop(broker, hub, start_agent):
    # Each run takes about 4 s: 40 echo probes, 0.1 s apart, to a port where nothing answers.
    extra = """
[selftest]
far_end = "127.0.0.1"
udp_echo_port = 9
ports = []
probes = 40
probe_interval_s = 0.1
"""
    agent = start_agent(broker.url, flap_interval_s=3600, extra=extra)
    _started(hub)
    for number in range(100):
        hub.client.publish(
            f"{BASE}/cmd/selftest", json.dumps({"response_topic": f"{REPLIES}/f{number}"}).encode(), qos=1
        )
    replies = hub.wait_for(lambda m: m.topic.startswith(f"{REPLIES}/f"), count=100, timeout=60)
    bodies = [m.json() for m in replies]
    assert all(body["ok"] for body in bodies)
    runs = {body["result"]["id"] for body in bodies}
    assert 1 <= len(runs) <= 2, f"100 requests ran {len(runs)} self-tests"

    # Another flood, then SIGTERM at once: the stop cancels the waiting work and says so.
    for number in range(100):
        hub.client.publish(
            f"{BASE}/cmd/selftest", json.dumps({"response_topic": f"{REPLIES}/g{number}"}).encode(), qos=1
        )
    hub.wait_for(lambda m: m.topic == f"{BASE}/selftest", count=len(runs) + 1, timeout=30)
    agent.signal(signal.SIGTERM)
    assert agent.process.wait(timeout=30) == 0
    cancelled = [m.json() for m in hub.messages if m.topic.startswith(f"{REPLIES}/g")]
    assert any(body.get("error", {}) and body["error"]["code"] == "cmd.cancelled" for body in cancelled)


def test_a_burst_of_sighups_is_serialised(broker, hub, start_agent):
    agent = start_agent(broker.url, flap_interval_s=3600)
    _started(hub)
    good = agent.config.read_text(encoding="utf-8")
    variants = [good, good.replace("keepalive_s = 5", "keepalive_s = 6")]
    for number in range(20):
        agent.config.write_text(variants[number % 2], encoding="utf-8")
        agent.signal(signal.SIGHUP)
        time.sleep(0.05)
    hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "config.reloaded")
    # The burst may still be running: a [broker] change relinks, and a command published while the
    # link is down is not kept for the agent (its session ends with the link), as for any requester
    # that asks during a reconnect. So ask again every 5 s; the agent must answer within 30 s.
    assert _ping_until_answered(hub, "after-hups", within_s=30)["ok"] is True
    log = agent.log()
    assert "already running" not in log and "Traceback" not in log
    assert agent.stop() == 0


def test_two_agents_from_one_config_say_so_and_do_not_flap(broker, hub, start_agent, tmp_path):
    """A cloned PC image: the same venue (so the same client id) twice, each with its own disk."""
    first = start_agent(broker.url, flap_interval_s=3600, status_interval_s=1)
    _started(hub)
    clone_config = write_config(tmp_path / "clone", broker.url, flap_interval_s=3600, status_interval_s=1)
    clone = AgentProcess(clone_config, tmp_path / "clone.log").start()
    try:
        duplicates = hub.wait_for(
            lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "agent.duplicate_client", timeout=30
        )
        assert duplicates[0].json()["severity"] == "critical"
        assert "client id" in duplicates[0].json()["message"]["en"]
        # Watch 10 s: the two hold off instead of knocking each other off about once a second each.
        watched_from = len(hub.messages)
        time.sleep(10)
        onlines = [m for m in hub.messages[watched_from:] if m.topic == f"{BASE}/availability" and m.text == "online"]
        assert len(onlines) <= 3, f"{len(onlines)} reconnects in 10 s"
        assert "two agents run from one config" in first.log() + clone.log()
    finally:
        clone.ensure_dead()
    first.ensure_dead()


def test_the_hub_can_ask_for_a_kept_summary(broker, hub, start_agent, tmp_path):
    summaries = tmp_path / "venue" / "state" / "summaries"
    summaries.mkdir(parents=True)
    kept = {"conference_id": "sheng-1202", "title": "全省会议", "actual_min": 58.0, "art17": {}}
    (summaries / "sheng-1202.json").write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
    agent = start_agent(broker.url, flap_interval_s=3600)
    _started(hub)
    asks = {"known": {"conference_id": "sheng-1202"}, "unknown": {"conference_id": "nope"}}
    asks |= {"escape": {"conference_id": "../../etc/passwd"}, "shape": {"id": "sheng-1202"}}
    for token, args in asks.items():
        body = json.dumps({"args": args}).encode()
        hub.publish(f"{BASE}/cmd/summary", body, response_topic=f"{REPLIES}/{token}", correlation=token.encode())
    replies = {t: hub.wait_for(lambda m, t=t: m.topic == f"{REPLIES}/{t}")[0].json() for t in asks}
    assert replies["known"]["ok"] is True and replies["known"]["result"] == kept
    for token in ("unknown", "escape", "shape"):
        assert replies[token]["error"]["code"] == "cmd.bad_payload", replies[token]
    assert agent.stop() == 0


def test_a_poisoned_stored_schedule_is_set_aside_and_the_agent_starts(broker, hub, start_agent, tmp_path):
    """A schedule saved by an older version (year 9999, near midnight UTC) must not crash-loop the service."""
    state = tmp_path / "venue" / "state"
    state.mkdir(parents=True)
    poisoned = [{"id": "edge", "kind": "provincial", "start": "9999-12-31T23:30:00+00:00", "duration_min": 60}]
    (state / "pushed_schedule.json").write_text(json.dumps(poisoned), encoding="utf-8")
    agent = start_agent(broker.url, flap_interval_s=3600)
    hub.wait_for(lambda m: m.topic == f"{BASE}/availability" and m.text == "online")
    notice = hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "schedule.stored_rejected")
    assert notice[0].json()["message"]["zh"] and "pushed_schedule.json" in notice[0].json()["message"]["en"]
    assert not (state / "pushed_schedule.json").exists()
    assert _ping(hub, "alive")["ok"] is True
    assert agent.stop() == 0


def test_a_command_name_that_is_not_unicode_still_gets_its_reply():
    """Not deliverable through mosquitto (topics are strict UTF-8), but the router must not depend on
    that: the name is quoted escaped and the request answered `cmd.unknown` (found by fuzzing)."""
    import asyncio

    from agent.mqtt.commands import CommandRouter
    from agent.mqtt.link import Incoming
    from contract.payloads import VenueRef
    from contract.topics import VenueTopics

    venue = VenueRef(province="jilin", prefecture="changchun", county="nongan", id="main", name="农安", level="county")
    topics = VenueTopics.for_venue("vc", venue)
    sent: list[tuple[str, bytes]] = []

    async def exchange() -> None:
        router = CommandRouter(venue, topics, lambda topic, payload, _corr: sent.append((topic, payload)))
        router.receive(Incoming(f"{topics.base}/cmd/\ud800", b"", None, None))
        await asyncio.sleep(0.2)

    asyncio.run(exchange())
    [(topic, payload)] = sent
    reply = json.loads(payload)
    assert topic == topics.replies and reply["error"]["code"] == "cmd.unknown" and reply["command"] == "\\ud800"
