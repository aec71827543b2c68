"""Problems first (#17): every table view leads with one summary line and the rows that are not
ok; names are never cut at 80 columns; one time zone on a screen, its offset said once.

`status` reads a real broker's retained status (published here as a stray publisher would, in
the contract's shape); `probe snmp` polls snmpsim serving a real Huawei S5720's recording.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from rich.cells import cell_len

from contract.findings import Finding, Message, Verdict
from contract.payloads import AgentInfo, OutboxState, Status, VenueRef
from sim.snmp import SHARED_RECORDINGS, SnmpSimulator
from sim.venue import write_config

BASE = "vc/jilin/changchun/nongan/main"
WIDTH = 80


def at_80_columns(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": str(WIDTH), "VENUE_AGENT_LANG": "en"},
    )


def finding(check: str, subject: str | None, verdict: Verdict, en: str) -> Finding:
    return Finding(
        check=check,
        subject=subject,
        verdict=verdict,
        code=f"{check}.x",
        message=Message(zh=f"中文：{en}", en=en),
        article="第十三条 / Art. 13",
    )


def busy_status() -> bytes:
    """Forty ok checks and three problems, among them a down port with a long name."""
    checks = [finding("snmp.reachable", f"switch-{n:02d}", Verdict.OK, "answers SNMP") for n in range(40)]
    checks += [
        finding("snmp.registration", "codec-main", Verdict.FAIL, "not registered: SIP unregistered"),
        finding("snmp.uplink", "core-switch", Verdict.FAIL, "uplink GigabitEthernet0/0/1 is down"),
        finding("video.framing", None, Verdict.WARN, "1 people in the front row"),
        finding("host.disk", None, Verdict.WARN, "little room left"),
    ]
    venue = VenueRef(
        province="jilin", prefecture="changchun", county="nongan", id="main", name="会议室", level="county"
    )
    status = Status(
        ts="2026-12-02T06:00:00Z",
        venue=venue,
        agent=AgentInfo(version="1", hostname="h", pid=1, started_at="2026-12-02T05:00:00Z"),
        overall=Verdict.FAIL,
        checks={(f"{f.check}@{f.subject}" if f.subject else f.check): f for f in checks},
        outbox=OutboxState(pending=0, dropped_metrics=0, dropped_events=0, held_in_memory=0),
        conference={"current": [{"id": "sheng-1", "title": "全省会议", "start": "2026-12-02T06:30:00Z"}]},
    )
    return status.model_dump_json(by_alias=True).encode()


def assert_fits(text: str) -> None:
    too_wide = [line for line in text.splitlines() if cell_len(line) > WIDTH]
    assert not too_wide, too_wide[:3]


@pytest.mark.timeout(400)  # several CLI runs, each a Python importing the agent
def test_status_leads_with_the_problems_and_cuts_no_name(broker, hub, tmp_path):
    config = write_config(tmp_path, broker.url)
    hub.client.publish(f"{BASE}/availability", b"online", qos=1, retain=True).wait_for_publish(5)
    hub.client.publish(f"{BASE}/status", busy_status(), qos=1, retain=True).wait_for_publish(5)
    result = at_80_columns("status", "-c", str(config), "--timeout", "2")
    out = result.stdout
    lines = out.splitlines()
    assert result.returncode == 2 and lines[0].startswith("CRITICAL (exit 2): 3 of 43 checks not ok"), lines[:2]
    assert "1 advisory" in lines[0]
    assert_fits(out)
    for name in ("snmp.registration@codec-main", "snmp.uplink@core-switch", "snmp.reachable@switch-39"):
        assert name in out, name  # whole, on one line
    assert "GigabitEthernet0/0/1" in out
    problems, ok = out.index("snmp.uplink@core-switch"), out.index("snmp.reachable@switch-00")
    assert out.index("host.disk") < ok and problems < ok and out.index("video.framing") < ok
    # One zone: 06:00 UTC and 06:30 UTC as Changchun's wall clock, the offset said once.
    assert "2026-12-02 14:00:00" in out and "since 2026-12-02 14:30:00" in out
    assert out.count("UTC+08:00") == 1 and "06:00:00Z" not in out and "+08:00" not in out.replace("UTC+08:00", "")
    quick = at_80_columns("status", "-c", str(config), "--timeout", "2", "--problems")
    assert quick.returncode == 2 and quick.stdout.splitlines()[0] == lines[0]
    assert "snmp.uplink@core-switch" in quick.stdout and "snmp.reachable@switch-00" not in quick.stdout
    assert "40 ok row(s) not shown" in quick.stdout


@pytest.mark.skipif(not SHARED_RECORDINGS.is_dir(), reason="../shared/fixtures/snmp (the S5720 recording) is not here")
@pytest.mark.timeout(400)  # several CLI runs, each a Python importing the agent
def test_probe_snmp_names_every_port_whole_at_80_columns():
    with SnmpSimulator() as simulator:
        target = f"127.0.0.1:{simulator.port}"
        result = at_80_columns("probe", "snmp", target, "--community", "vrp_5720", "--uplink", "GigabitEthernet0/0/1")
        quick = at_80_columns("probe", "snmp", target, "--community", "vrp_5720", "--problems")
    out = result.stdout
    assert result.returncode == 2 and out.splitlines()[0].startswith("CRITICAL (exit 2): 1 of 6 checks not ok")
    assert_fits(out)
    ports = [line for line in out.splitlines() if "GigabitEthernet0/0/" in line and "│ up" in line]
    assert len(ports) >= 24 and all(line.count("│") >= 8 for line in ports)  # one row each, name whole
    assert out.index("snmp.uplink") < out.index("snmp.reachable")  # the problem before the ok rows
    assert quick.returncode == 0 and "interfaces" not in quick.stdout and "ok row(s) not shown" in quick.stdout


def test_schedule_shows_one_time_zone(tmp_path):
    """A conference written in UTC, checkpoints computed in the venue's zone: one zone on screen."""
    extra = '\n[[conference]]\nid = "sheng-2099"\ntitle = "全省会议"\nkind = "provincial"\n'
    extra += 'start = 2099-12-02T06:30:00Z\nduration_min = 90\nfar_end = "10.0.0.1"\n'
    config = write_config(tmp_path, "mqtt://127.0.0.1:1", extra=extra)
    result = at_80_columns("schedule", "-c", str(config))
    out = result.stdout
    assert result.returncode == 0 and "2099-12-02 14:30:00" in out and "2099-12-01 15:00:00" in out, out
    assert out.count("UTC+08:00") == 1 and "+08:00" not in out.replace("UTC+08:00", "") and "06:30" not in out
