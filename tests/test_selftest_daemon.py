"""The daemon runs the self-test at the Art. 14 checkpoints and on the hub's cmd/selftest (roll call),
publishes the report retained, raises an event per failed item, and tags events with the conference."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sim.far_end import FarEnd
from sim.speech import room, write
from tests.peers.hub import Hub
from tests.schema_check import assert_valid

BASE = "vc/jilin/changchun/nongan/main"
REPLY_TOPIC = f"{BASE}/cmd/replies/t"


def test_checkpoints_and_roll_call_run_the_selftest(broker, hub, start_agent, tmp_path):
    speech = write(tmp_path / "speech.wav", room())
    with FarEnd(loss=0.6) as far:
        extra = f"""
[audio]
source = "{speech}"
interval_s = 2

[selftest]
far_end = "127.0.0.1"
udp_echo_port = {far.echo_port}
ports = {far.tcp_ports}
probes = 20
probe_interval_s = 0.02
sample_s = 2
"""
        agent = start_agent(broker.url, flap_interval_s=3600, status_interval_s=1, extra=extra)
        hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "agent.started")
        start = (datetime.now(UTC) + timedelta(seconds=12)).replace(microsecond=0)
        conference = {"id": "guo-0930", "title": "国务院电视电话会议", "kind": "national", "start": start.isoformat()}
        hub.publish(
            f"{BASE}/cmd/schedule",
            json.dumps({"args": {"conferences": [conference]}}).encode(),
            response_topic=REPLY_TOPIC,
            correlation=b"sched",
        )
        assert hub.wait_for(lambda m: m.topic == REPLY_TOPIC and m.correlation == b"sched")[0].json()["ok"] is True

        # The power-on, roll-call and seating checkpoints (all due: the conference is 12 s away) each run the suite.
        reports = hub.wait_for(lambda m: m.topic == f"{BASE}/selftest", timeout=30, count=3)
        triggers = [m.json()["trigger"] for m in reports]
        assert triggers == ["power_on_selftest", "rollcall_selftest", "seating_check"], triggers
        for message in reports:
            report = message.json()
            assert_valid("selftest", report)
            assert report["conference_id"] == "guo-0930" and report["verdict"] == "fail"
            verdicts = {item["check"].split("@")[0]: item["verdict"] for item in report["items"]}
            assert verdicts["net.path"] == "fail" and verdicts["audio.signal"] == "pass"

        # During the conference, the hub's roll call: a correlated reply carrying the report.
        hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "timeline.meeting_start", timeout=20)
        far.loss = 0.0
        hub.publish(f"{BASE}/cmd/selftest", b"{}", response_topic=REPLY_TOPIC, correlation=b"roll-1")
        reply = hub.wait_for(lambda m: m.topic == REPLY_TOPIC and m.correlation == b"roll-1", timeout=25)[0].json()
        assert_valid("reply", reply)
        assert reply["ok"] is True and reply["result"]["trigger"] == "command"
        assert reply["result"]["conference_id"] == "guo-0930" and reply["result"]["verdict"] == "pass"

        # A technician at the venue PC asks the running daemon rather than opening the sources twice.
        cli = subprocess.run(
            [sys.executable, "-m", "agent.cli.main", "selftest", "-c", str(agent.config), "--via-broker", "--json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 0, cli.stderr
        by_cli = json.loads(cli.stdout)
        assert by_cli["trigger"] == "command" and by_cli["conference_id"] == "guo-0930"

        # Malformed roll calls get error replies; the agent carries on.
        for body in (b'{"args": {"framing": "yes"}}', b"[1,2"):
            hub.publish(f"{BASE}/cmd/selftest", body, response_topic=REPLY_TOPIC, correlation=b"bad")
        bad = hub.wait_for(lambda m: m.topic == REPLY_TOPIC and m.correlation == b"bad", count=2)
        assert all(m.json()["ok"] is False for m in bad)
        assert {m.json()["error"]["code"] for m in bad} == {"cmd.bad_payload", "cmd.bad_json"}
        assert any("framing" in m.json()["error"]["message"]["en"] for m in bad)

        status = hub.wait_for(
            lambda m: m.topic == f"{BASE}/status" and (m.json().get("selftest") or {}).get("trigger") == "command",
            timeout=10,
        )[-1].json()
        assert status["selftest"]["verdict"] == "pass" and status["selftest"]["conference_id"] == "guo-0930"
        assert agent.stop() == 0

    failed = [e for e in hub.events() if e["code"] == "selftest.item_failed"]
    assert len(failed) == 3 and all(e["check"].startswith("net.path") for e in failed)
    assert all(e["conference_id"] == "guo-0930" and e["data"]["article"].startswith("第十三条") for e in failed)
    completed = [e for e in hub.events() if e["code"] == "selftest.completed"]
    assert [e["data"]["verdict"] for e in completed] == ["fail", "fail", "fail", "pass", "pass"]
    during = [e for e in hub.events() if datetime.fromisoformat(e["ts"]) >= start]
    assert len(during) >= 3 and all(e["conference_id"] == "guo-0930" for e in during), during
    started = next(e for e in hub.events() if e["code"] == "agent.started")
    assert started["conference_id"] is None  # raised before any conference was scheduled
    for event in hub.events():
        assert_valid("event", event)

    # With the daemon stopped, --via-broker says so (UNKNOWN), it does not hang.
    stopped = subprocess.run(
        [sys.executable, "-m", "agent.cli.main", "selftest", "-c", str(agent.config), "--via-broker", "--wait", "3"],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert stopped.returncode == 3 and "no reply from the daemon" in stopped.stderr

    # A hub that subscribes later sees the last report at once (retained).
    late = Hub(broker.port, f"{BASE}/selftest")
    try:
        retained = late.wait_for(lambda m: m.retain, timeout=5)[0].json()
    finally:
        late.close()
    assert retained["trigger"] == "command" and retained["verdict"] == "pass"


def test_selftest_by_hand_and_via_the_daemon_pick_the_same_conference_between_two(broker, hub, start_agent):
    """Between a conference that is over and one ahead, both ways of asking probe the one ahead."""
    now = datetime.now(UTC).replace(microsecond=0)
    extra = "".join(
        f'\n[[conference]]\nid = "{cid}"\nkind = "department"\nstart = {start.isoformat()}\nduration_min = 60\n'
        for cid, start in (("over", now - timedelta(hours=3)), ("ahead", now + timedelta(hours=3)))
    )
    agent = start_agent(broker.url, flap_interval_s=3600, extra=extra)
    hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "agent.started")
    chosen = {}
    for way, flags in (("by hand", []), ("via the daemon", ["--via-broker"])):
        cli = subprocess.run(
            [sys.executable, "-m", "agent.cli.main", "selftest", "-c", str(agent.config), "--json", *flags],
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert cli.returncode in (0, 1, 2), cli.stderr
        chosen[way] = json.loads(cli.stdout)["conference_id"]
    assert chosen == {"by hand": "ahead", "via the daemon": "ahead"}
    assert agent.stop() == 0
