"""`venue-agent status` reads the venue's retained messages back from a real broker."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

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


def hostile_retained(good: dict) -> dict[str, tuple[bytes | None, bytes | None, str, str]]:
    """name → (status, selftest, the leaf that is unreadable, what the reason says); None keeps the good one."""
    return {
        "overall is a number": (json.dumps(good | {"overall": 5}).encode(), None, "status", "overall"),
        "checks hold a number": (json.dumps(good | {"checks": {"x": 5}}).encode(), None, "status", "checks.x"),
        "conference id a number": (
            json.dumps(good | {"conference": {"current": [{"id": 7, "start": "x"}]}}).encode(),
            None,
            "status",
            "conference.current.0.id",
        ),
        "a JSON array": (b"[1, 2]", None, "status", "JSON array"),
        "a JSON string": (b'"fine"', None, "status", "JSON string"),
        "not UTF-8": (b"\xff\xfe{", None, "status", "not UTF-8"),
        "nested 100 000 deep": (b"[" * 100_000 + b"]" * 100_000, None, "status", "nested too deeply"),
        "a self-test nested deep": (None, b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "selftest", "nested too deeply"),
        "a self-test wrong-typed": (None, json.dumps({"items": [1], "verdict": []}).encode(), "selftest", "Selftest"),
        "a lone surrogate escape": (
            json.dumps(good | {"venue": good["venue"] | {"name": "\ud800"}}).encode(),
            None,
            "status",
            "not valid Unicode",
        ),
    }


def good_status() -> dict:
    """A status as the agent publishes it (the contract's own model, dumped)."""
    from contract.findings import Finding, Message, Verdict
    from contract.payloads import AgentInfo, OutboxState, Status, VenueRef

    venue = VenueRef(
        province="jilin", prefecture="changchun", county="nongan", id="main", name="会议室", level="county"
    )
    finding = Finding(
        check="host.disk", verdict=Verdict.OK, code="host.disk_ok", message=Message(zh="充足", en="enough"), article="x"
    )
    status = Status(
        ts="2026-12-02T06:00:00Z",
        venue=venue,
        agent=AgentInfo(version="1", hostname="h", pid=1, started_at="2026-12-02T05:00:00Z"),
        overall=Verdict.OK,
        checks={"host.disk": finding},
        outbox=OutboxState(pending=0, dropped_metrics=0, dropped_events=0, held_in_memory=0),
    )
    return status.model_dump(mode="json", by_alias=True)


def test_every_hostile_leaf_is_read_as_unknown_with_its_reason():
    """The reading itself, case by case (the broker round trip is below, for a few of them)."""
    from io import StringIO

    from rich.console import Console

    from agent.cli.status_view import exit_code, read_retained, render

    good = json.dumps(good_status()).encode()
    assert exit_code(read_retained({"availability": b"online", "status": good})) == 0
    newer = json.dumps(good_status() | {"added_in_a_newer_minor": [1]}).encode()
    assert exit_code(read_retained({"availability": b"online", "status": newer})) == 0  # additive change tolerated
    for name, (status, selftest, leaf, reason) in hostile_retained(good_status()).items():
        received = {"availability": b"online", "status": status or good} | ({"selftest": selftest} if selftest else {})
        found = read_retained(received)
        assert list(found["problems"]) == [leaf] and reason in found["problems"][leaf], (name, found["problems"])
        assert exit_code(found) == 3, name
        render(found | {"topic": BASE}, Console(file=StringIO(), width=120))  # and the table does not trip on it
    offline = read_retained({"availability": b"offline", "status": b"[]"})
    assert exit_code(offline) == 2  # offline stays CRITICAL even when the status is unreadable
    assert read_retained({"availability": b"onl\xffine"})["problems"]["availability"] == "not UTF-8 text (byte 3)"


@pytest.mark.timeout(300)  # seven CLI runs; each starts a Python that imports the whole agent
def test_hostile_retained_payloads_are_unknown_with_a_reason_never_a_traceback(broker, hub, start_agent):
    """A real status from the agent first, then leaves overwritten on the broker, as a stray publisher could."""
    agent = start_agent(broker.url, flap_interval_s=3600, status_interval_s=1)
    good = hub.wait_for(lambda m: m.topic == f"{BASE}/status" and "host.disk" in m.json()["checks"])[-1].json()
    assert agent.stop() == 0  # nothing republishes over what the test retains below
    hub.client.publish(f"{BASE}/availability", b"online", qos=1, retain=True).wait_for_publish(5)
    good["venue"]["name"] = "[bold]会议室[/] [/nope]"  # rich markup in retained text is shown literally
    good_status_bytes = json.dumps(good).encode()
    cases = hostile_retained(good)
    for name in ("overall is a number", "nested 100 000 deep", "a self-test wrong-typed"):
        status, selftest, leaf, reason = cases[name]
        hub.client.publish(f"{BASE}/status", status or good_status_bytes, qos=1, retain=True).wait_for_publish(5)
        hub.client.publish(f"{BASE}/selftest", selftest or b"", qos=1, retain=True).wait_for_publish(5)
        for output in ("table", "--json"):
            result = status_cli(agent.config, "--timeout", "1", *(["--json"] if output == "--json" else []))
            assert result.returncode == 3, (name, output, result.stdout[-500:], result.stderr[-1500:])
            assert "Traceback" not in result.stderr, (name, output, result.stderr[-2000:])
            if output == "--json":
                problems = json.loads(result.stdout)["problems"]
                assert list(problems) == [leaf] and reason in problems[leaf], (name, problems)
            else:
                first = result.stdout.splitlines()[0]
                assert first.startswith(f"UNKNOWN: the retained {leaf} on {BASE}/{leaf} cannot be read: "), name
    # The good status again, with a markup-laden venue name: read, shown literally, exit as its verdict.
    hub.client.publish(f"{BASE}/status", good_status_bytes, qos=1, retain=True).wait_for_publish(5)
    hub.client.publish(f"{BASE}/selftest", b"", qos=1, retain=True).wait_for_publish(5)
    result = status_cli(agent.config, "--timeout", "1")
    assert result.returncode == 0 and "[bold]会议室[/] [/nope]" in result.stdout, result.stdout + result.stderr


def test_control_characters_in_retained_text_never_reach_the_terminal():
    """Whoever can write a venue's status topic must not clear the technician's screen (ESC [2J) or
    retitle the terminal (ESC ] 0 ; … BEL): such characters are shown as their escapes."""
    from io import StringIO

    from rich.console import Console

    from agent.cli.status_view import read_retained, render

    status = good_status()
    status["venue"]["name"] = "会议室\u001b]0;pwned\u0007"
    status["checks"]["host.disk"]["message"]["en"] = "enough\u001b[2J"
    found = read_retained({"availability": b"online", "status": json.dumps(status).encode()})
    assert "problems" not in found and "status" in found
    out = StringIO()
    render(found | {"topic": BASE}, Console(file=out, width=200, force_terminal=False))
    shown = out.getvalue()
    assert "\x1b" not in shown and "\x07" not in shown
    assert "\\x1b[2J" in shown or "\\x1b" in shown
