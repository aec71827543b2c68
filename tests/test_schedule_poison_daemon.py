"""Issue 11 item 2 as the tester reproduced it, through the real daemon and a real mosquitto: a
cmd/schedule at the edge of the datetime range, then SIGHUP, then a restart — no crash loop. And
the config side: a SIGHUP onto a year-9999 conference is refused, onto a truncated .ics taken
with the bad event reported."""

from __future__ import annotations

import json
import signal

from tests.peers.hub import Hub

BASE = "vc/jilin/changchun/nongan/main"
REPLIES = f"{BASE}/cmd/replies"
EDGE = {"id": "edge", "kind": "national", "start": "9999-12-31T23:30:00-08:00", "duration_min": 60}
ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"
    "BEGIN:VEVENT\r\nUID:truncated-1\r\nDTSTART:2027120\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:sheng-ics\r\nDTSTART:20991203T010000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def event(hub: Hub, code: str, count: int = 1, timeout: float = 30) -> dict:
    found = hub.wait_for(
        lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == code, timeout=timeout, count=count
    )
    return found[count - 1].json()


def test_an_edge_of_range_schedule_is_refused_and_reloads_and_restarts_stay_up(broker, hub, start_agent, tmp_path):
    agent = start_agent(broker.url, flap_interval_s=3600, status_interval_s=1)
    state = tmp_path / "venue" / "state"
    event(hub, "agent.started")

    body = json.dumps({"args": {"conferences": [EDGE]}}).encode()
    hub.publish(f"{BASE}/cmd/schedule", body, response_topic=f"{REPLIES}/edge", correlation=b"edge")
    reply = hub.wait_for(lambda m: m.topic == f"{REPLIES}/edge")[0].json()
    assert reply["ok"] is False and reply["error"]["code"] == "cmd.bad_payload", reply
    assert "years 2000–2199, not 9999" in reply["error"]["message"]["en"]
    assert not (state / "pushed_schedule.json").exists()  # refused means not stored either

    agent.signal(signal.SIGHUP)  # used to raise OverflowError in the reload task
    event(hub, "config.reloaded")

    # The config gains a year-9999 conference: `config check` refuses it, and so does the reload.
    config = agent.config.read_text(encoding="utf-8")
    agent.config.write_text(
        config + '\n[[conference]]\nid = "c9999"\nkind = "national"\nstart = 9999-12-31T23:30:00-08:00\n',
        encoding="utf-8",
    )
    agent.signal(signal.SIGHUP)
    rejected = event(hub, "config.reload_rejected")
    assert "conference[0].start" in rejected["message"]["en"] and "9999" in rejected["message"]["en"]

    # A truncated .ics: the reload is taken, the bad event named, the good one scheduled.
    calendar = tmp_path / "conferences.ics"
    calendar.write_bytes(ICS.encode())
    agent.config.write_text(config + f'\n[schedule]\nics_file = "{calendar}"\n', encoding="utf-8")
    agent.signal(signal.SIGHUP)
    event(hub, "config.reloaded", count=2)
    skipped = event(hub, "schedule.ics_events_skipped")
    assert "truncated-1" in skipped["message"]["en"] and str(calendar) in skipped["message"]["en"]
    status = hub.wait_for(
        lambda m: m.topic == f"{BASE}/status" and (m.json().get("conference") or {}).get("next"), timeout=15
    )[-1].json()
    assert status["conference"]["next"]["id"] == "sheng-ics"

    # And it still starts again (the crash loop under Restart=always was here).
    assert agent.stop() == 0
    agent.start()
    event(hub, "agent.started", count=2)
    assert agent.alive and "Traceback" not in agent.log()
    assert agent.stop() == 0
