"""A whole day and a half of a venue, driven through the daemon's own timeline code on an injected
clock in a few seconds: checkpoints with their self-tests, events tagged with the conference in
progress, Art. 3 overruns from the codec's call state and the Art. 20 summary."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from agent.config import load_config
from agent.daemon import Agent
from agent.devices.summary import DeviceSummary
from agent.outbox import Kind
from contract.findings import Article, Finding, Message, Verdict
from sim.venue import write_config
from tests.schema_check import assert_valid

ZONE = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 12, 1, tzinfo=ZONE)
CONFERENCES = """
[[conference]]
id = "guo-1201"
title = "国务院电视电话会议"
kind = "national"
start = 2026-12-01T09:00:00+08:00
duration_min = 120

[[conference]]
id = "sheng-1202"
title = "全省安全生产电视电话会议"
kind = "provincial"
start = 2026-12-02T09:00:00+08:00
duration_min = 60
"""


def audio_level(verdict: Verdict) -> Finding:
    return Finding(
        check="audio.level",
        verdict=verdict,
        code="audio.level.x",
        message=Message(zh="声音", en=f"sound {verdict.value}"),
        article=Article.ART17,
    )


def codec(calls: int) -> DeviceSummary:
    return DeviceSummary(via="snmp", kind="codec", reachable=True, calls=calls)


async def live_a_day(agent: Agent, clock: list[datetime]) -> None:
    """Minute by minute from 06:00 on the 1st to 12:00 on the 2nd, with what happens in the room."""
    happenings = {
        DAY.replace(day=2, hour=8, minute=58): lambda: agent.reporter.set_device("codec", codec(1)),
        DAY.replace(day=2, hour=9, minute=10): lambda: agent.reporter.report(audio_level(Verdict.WARN)),
        DAY.replace(day=2, hour=9, minute=16): lambda: agent.reporter.report(audio_level(Verdict.OK)),
        DAY.replace(day=2, hour=10, minute=35): lambda: agent.reporter.set_device("codec", codec(0)),
    }
    agent.reporter.report(audio_level(Verdict.OK))
    now = DAY.replace(hour=6)
    while now <= DAY.replace(day=2, hour=12):
        clock[0] = now
        if now in happenings:
            happenings[now]()
        agent.ticker.tick(now)
        await asyncio.sleep(0)  # let the self-tests started by the checkpoints run
        now += timedelta(minutes=1)
    while agent.ticker.background:
        await asyncio.sleep(0.01)


def test_a_day_and_a_half_of_checkpoints_selftests_and_summaries(tmp_path):
    path = write_config(tmp_path, "mqtt://127.0.0.1:1", extra=CONFERENCES)
    clock = [DAY]
    agent = Agent(path, load_config(path), clock=lambda: clock[0])
    agent.outbox.open()
    try:
        asyncio.run(live_a_day(agent, clock))
        rows = agent.outbox.after(0, 10_000)
    finally:
        agent.outbox.close()
    events = [json.loads(r.payload) for r in rows if r.kind is Kind.EVENT]
    reports = [json.loads(r.payload) for r in rows if r.kind is Kind.SELFTEST]
    for event in events:
        assert_valid("event", event)

    def when(code: str, conference: str) -> list[str]:
        return [
            datetime.fromisoformat(e["ts"]).astimezone(ZONE).strftime("%d %H:%M")
            for e in events
            if e["code"] == code and e["conference_id"] == conference
        ]

    # Art. 14: every checkpoint once, at its time (national: power-on T-90; provincial: 15:00 the day before).
    assert when("timeline.power_on_selftest", "guo-1201") == ["01 07:30"]
    assert when("timeline.rollcall_selftest", "guo-1201") == ["01 08:00"]
    assert when("timeline.seating_check", "guo-1201") == ["01 08:45"]
    assert when("timeline.meeting_start", "guo-1201") == ["01 09:00"]
    assert when("timeline.post_meeting_summary", "guo-1201") == ["01 11:05"]
    assert when("timeline.eve_debug_selftest", "sheng-1202") == ["01 15:00"]
    assert when("timeline.rollcall_selftest", "sheng-1202") == ["02 08:00"]
    assert when("timeline.power_on_selftest", "sheng-1202") == []

    # A self-test report per self-test checkpoint, tied to its conference; seating adds framing.
    triggers = [(r["trigger"], r["conference_id"]) for r in reports]
    assert triggers == [
        ("power_on_selftest", "guo-1201"),
        ("rollcall_selftest", "guo-1201"),
        ("seating_check", "guo-1201"),
        ("eve_debug_selftest", "sheng-1202"),
        ("rollcall_selftest", "sheng-1202"),
        ("seating_check", "sheng-1202"),
    ]
    for report in reports:
        assert_valid("selftest", report)

    # Art. 3 from the codec's call: past 60 min at 10:01, past the 90 min maximum at 10:31, once each.
    assert when("conference.overrun_normal", "sheng-1202") == ["02 10:01"]
    assert when("conference.overrun_maximum", "sheng-1202") == ["02 10:31"]
    assert when("conference.overrun_normal", "guo-1201") == []  # national: not limited by these measures

    # Art. 20: the provincial summary waits for the call to end (10:35), then tells the story.
    assert when("conference.summary", "sheng-1202") == ["02 10:35"]
    summary = next(e for e in events if e["code"] == "conference.summary" and e["conference_id"] == "sheng-1202")
    data = summary["data"]
    assert data["actual_min"] == 95.0 and data["duration_source"] == "codec" and data["over_limit"] is True
    assert data["art17"]["audio.level"]["warn"] == round(100 * 6 / 95, 1)
    assert summary["severity"] == "warning" and "95" in summary["message"]["en"]
    national = next(e for e in events if e["code"] == "conference.summary" and e["conference_id"] == "guo-1201")
    assert national["data"]["duration_source"] == "schedule" and national["data"]["actual_min"] == 120
    assert (tmp_path / "state" / "summaries" / "sheng-1202.json").is_file()

    # Events raised during a conference carry its id; those outside carry none.
    warned = next(e for e in events if e.get("check") == "audio.level" and e["verdict"] == "warn")
    assert warned["conference_id"] == "sheng-1202"
    eve = next(e for e in events if e["code"] == "selftest.completed" and e["data"]["trigger"] == "eve_debug_selftest")
    assert eve["conference_id"] == "sheng-1202"
