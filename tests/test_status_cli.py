"""`venue-agent status` reads the venue's retained messages back from a real broker."""

from __future__ import annotations

import json
import subprocess
import sys

BASE = "vc/jilin/changchun/nongan/main"


def status_cli(config, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", "status", "-c", str(config), *args], capture_output=True, text=True, timeout=60
    )


def test_status_json_table_and_exit_codes(broker, hub, start_agent):
    agent = start_agent(broker.url, flap_interval_s=3600)
    hub.wait_for(lambda m: m.topic == f"{BASE}/status" and "host.disk" in m.json()["checks"])
    result = status_cli(agent.config, "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["availability"] == "online"
    assert report["status"]["overall"] == "ok" and report["exit_code"] == 0
    table = status_cli(agent.config)
    assert table.returncode == 0 and "host.disk" in table.stdout and "第十三条" in table.stdout
    assert agent.stop() == 0
    result = status_cli(agent.config, "--json")
    assert result.returncode == 2 and json.loads(result.stdout)["availability"] == "offline"


def test_status_against_an_unreachable_broker_is_unknown(tmp_path):
    from sim.ports import free_port
    from sim.venue import write_config

    config = write_config(tmp_path, f"mqtt://127.0.0.1:{free_port()}")
    result = status_cli(config, "--timeout", "1")
    assert result.returncode == 3 and "cannot reach" in result.stderr


def test_status_table_shows_the_conference_the_summary_and_the_last_selftest():
    """The human view of a venue mid-conference, from payloads shaped as the agent publishes them."""
    from io import StringIO

    from rich.console import Console

    from agent.cli.status_view import render

    found = {
        "topic": BASE,
        "availability": "online",
        "status": {
            "overall": "fail",
            "venue": {"name": "农安县政府视频会议室"},
            "checks": {},
            "outbox": {"pending": 0, "dropped_events": 0, "dropped_metrics": 0, "rejected_by_broker": 3},
            "conference": {
                "current": [{"id": "sheng-1", "title": "全省会议", "start": "2026-12-02T06:30:00Z"}],
                "next": None,
                "last_summary": {
                    "conference_id": "guo-1",
                    "title": "国务院会议",
                    "actual_min": 95.0,
                    "allowed_min": 90,
                    "art17_min_ok_pct": 93.7,
                    "incidents": 2,
                    "call_drops": 1,
                },
            },
        },
        "selftest": {
            "trigger": "rollcall_selftest",
            "conference_id": "sheng-1",
            "verdict": "fail",
            "ts": "2026-12-02T05:30:00Z",
            "items": [{"check": "net.path@10.1.1.10", "verdict": "fail"}, {"check": "host.disk", "verdict": "pass"}],
        },
    }
    out = StringIO()
    render(found, Console(file=out, width=200))
    text = out.getvalue()
    assert "in conference: 全省会议 (sheng-1)" in text
    assert "国务院会议 ran 95.0 min (allowed 90)" in text and "1 call drop(s)" in text
    assert "3 refused by the broker" in text
    assert "failed: net.path@10.1.1.10" in text and "rollcall_selftest" in text
