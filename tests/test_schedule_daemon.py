"""The daemon keeps the timeline: cmd/schedule round trip, checkpoints announced once, status shows what is next."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.schema_check import assert_valid

BASE = "vc/jilin/changchun/nongan/main"
REPLY_TOPIC = f"{BASE}/cmd/replies/s"


def test_cmd_schedule_and_checkpoints(broker, hub, start_agent):
    agent = start_agent(broker.url, flap_interval_s=3600, status_interval_s=1)
    hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "agent.started")
    start = (datetime.now(UTC) + timedelta(seconds=4)).replace(microsecond=0)
    schedule = {
        "args": {
            "conferences": [
                {
                    "id": "sheng-test",
                    "title": "全省测试会议",
                    "kind": "provincial",
                    "start": start.isoformat(),
                    "duration_min": 60,
                }
            ]
        }
    }
    hub.publish(f"{BASE}/cmd/schedule", json.dumps(schedule).encode(), response_topic=REPLY_TOPIC, correlation=b"s1")
    reply = hub.wait_for(lambda m: m.topic == REPLY_TOPIC and m.correlation == b"s1")[0].json()
    assert reply["ok"] is True and reply["result"]["accepted"] == 1

    def checkpoint(code: str):
        return lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == code

    # Pre-start checkpoints already past run at once (the conference has not begun) ...
    for code in ("timeline.eve_debug_selftest", "timeline.rollcall_selftest", "timeline.seating_check"):
        event = hub.wait_for(checkpoint(code), timeout=10)[0].json()
        assert event["data"]["conference"] == "sheng-test"
        assert_valid("event", event)
    # ... and the start fires at its time.
    hub.wait_for(checkpoint("timeline.meeting_start"), timeout=15)
    status = hub.wait_for(
        lambda m: m.topic == f"{BASE}/status" and m.json()["conference"] and m.json()["conference"]["current"],
        timeout=10,
    )[-1].json()
    assert status["conference"]["current"][0]["id"] == "sheng-test"
    assert_valid("status", status)

    # A bad schedule is refused with an error reply, and the old one stays.
    bad = {"args": {"conferences": [{"id": "x", "kind": "weekly", "start": "2099-01-01T09:00:00"}]}}
    hub.publish(f"{BASE}/cmd/schedule", json.dumps(bad).encode(), response_topic=REPLY_TOPIC, correlation=b"s2")
    refused = hub.wait_for(lambda m: m.topic == REPLY_TOPIC and m.correlation == b"s2")[0].json()
    assert refused["ok"] is False and refused["error"]["code"] == "cmd.bad_payload"
    assert "previous one stays" in refused["error"]["message"]["en"] and "kind" in refused["error"]["message"]["en"]

    # Each checkpoint was announced once, also across a restart (the fired set is kept on disk).
    assert agent.stop() == 0
    agent.start()
    hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "agent.started", count=2)
    assert agent.stop() == 0
    codes = [e["code"] for e in hub.events() if e["code"].startswith("timeline.")]
    assert sorted(codes) == sorted(set(codes)), codes
