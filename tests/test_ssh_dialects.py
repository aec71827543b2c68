"""Both Cisco software lines, TC 7 and CE 9 / RoomOS, over real SSH (netmiko to the simulator): the
same codec state gives the same findings whichever dialect the codec speaks, through the collector
functions `probe ssh` and the daemon's monitor both call (SshPool.poll), and through `probe ssh`
itself."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from collectors.ssh.poll import SshPool
from collectors.ssh.session import SshSession, SshTarget
from probes.device_thresholds import SshThresholds
from probes.ssh import judge
from sim.ssh_devices import SshDeviceSimulator
from sim.ssh_vendor_output import TC_TEMPERATURE_FOR, TC_TEMPERATURE_LIMIT_C, CodecState

PASSWORD = "venue-test"
VERSIONS = {"ce": "ce9.15.3.17", "tc": "TC7.3.6.ac4ec6c"}

# Each state, and the check it must turn away from the healthy verdict (None: the healthy state).
STATES: list[tuple[str, dict, str | None]] = [
    ("healthy", {}, None),
    ("camera pulled", {"camera_connected": False}, "ssh.video_input"),
    ("camera without signal", {"camera_signal": "Unsupported"}, "ssh.video_input"),
    ("loss 3 %", {"loss_pct": 3.0}, "ssh.media"),
    ("loss 8 %", {"loss_pct": 8.0}, "ssh.media"),
    ("jitter 40 ms", {"jitter_ms": 40}, "ssh.media"),
    ("SIP failed", {"sip_status": "Failed"}, "ssh.registration"),
    ("running hot", {"temperature_status": "High"}, "ssh.temperature"),
    ("overheating", {"temperature_status": "Critical"}, "ssh.temperature"),
    ("diagnostics warning", {"diagnostics": [("Warning", "NetLinkStatus", "Network link down")]}, "ssh.diagnostics"),
    (
        "diagnostics error",
        {"diagnostics": [("Error", "SIPProfileRegistration", "Registration failed")]},
        "ssh.diagnostics",
    ),
    ("idle", {"in_call": False}, None),
]


def _codec_target(sim: SshDeviceSimulator, known_hosts: Path) -> SshTarget:
    return SshTarget(
        "codec",
        "127.0.0.1",
        sim.port,
        "cisco_tp",
        "admin",
        known_hosts=known_hosts,
        password=PASSWORD,
        connect_timeout_s=5.0,
        command_timeout_s=2.0,
    )


def _poll_states(kind: str, known_hosts: Path) -> dict[str, dict[str, str]]:
    """Log in once, then poll the codec in every state in turn (the session stays open, as in the daemon)."""
    with SshDeviceSimulator("cisco_tp") as sim:
        sim.codec = CodecState(software=VERSIONS[kind])
        known_hosts.write_text(sim.known_hosts_line())
        target = _codec_target(sim, known_hosts)

        async def run() -> dict[str, dict[str, str]]:
            pool, session = SshPool(1), SshSession(target)
            results = {}
            try:
                for name, changes, _ in STATES:
                    sim.codec = CodecState(software=VERSIONS[kind], **changes)
                    reading = await pool.poll(session)
                    assert reading.reachable and not reading.rejected, (kind, name, reading)
                    assert reading.codec.dialect == kind
                    results[name] = {f.check: f.verdict.value for f in judge(reading, SshThresholds())}
            finally:
                await asyncio.to_thread(session.close)
                pool.close()
            return results

        found = asyncio.run(run())
        asked = {c for c in sim.commands_seen if c.startswith("xStatus")}
    found["_asked"] = {command: "asked" for command in asked}
    return found


# One worker polls every state once for all these tests (pytest -n 2 --dist loadgroup, scripts/test.sh).
pytestmark = pytest.mark.xdist_group("ssh_dialects")


@pytest.fixture(scope="module")
def by_dialect(tmp_path_factory) -> dict[str, dict[str, dict[str, str]]]:
    return {kind: _poll_states(kind, tmp_path_factory.mktemp(kind) / "known_hosts") for kind in VERSIONS}


def test_each_line_is_asked_only_its_own_paths(by_dialect):
    """A TC codec is not asked CE's `SIP Registration` (it would refuse it); both lines are asked
    `Diagnostics`, which on TC holds the channels' Netstat counters (docs/ssh.md)."""
    assert "xStatus SIP Registration" in by_dialect["ce"]["_asked"]
    assert "xStatus Diagnostics" in by_dialect["ce"]["_asked"]
    assert set(by_dialect["tc"]["_asked"]) == {
        "xStatus SystemUnit",
        "xStatus Call",
        "xStatus MediaChannels",
        "xStatus Diagnostics",
        "xStatus Video Input",
        "xStatus SIP",
        "xStatus H323 Gatekeeper",
    }


@pytest.mark.parametrize(("name", "turned"), [(name, turned) for name, _, turned in STATES])
def test_same_state_same_findings_in_both_dialects(by_dialect, name, turned):
    """The diagnostics too: CE's `Diagnostics Message n`, TC's `SystemUnit Diagnostics Message n`."""
    ce, tc = by_dialect["ce"][name], by_dialect["tc"][name]
    assert "ssh.diagnostics" in tc
    assert tc == ce, name
    if turned is not None:  # and the state really is a fault, of that check only
        healthy = by_dialect["tc"]["healthy"]
        assert tc[turned] != healthy[turned], (name, tc)
        assert {c: v for c, v in tc.items() if c != turned} == {c: v for c, v in healthy.items() if c != turned}


def test_probe_ssh_reads_a_tc_codec(tmp_path):
    """`probe ssh --json` against a TC 7 codec: the TC shapes read into the same JSON keys."""
    known_hosts = tmp_path / "known_hosts"
    with SshDeviceSimulator("cisco_tp") as sim:
        sim.codec = CodecState(software=VERSIONS["tc"], loss_pct=8.0)
        known_hosts.write_text(sim.known_hosts_line())
        command = ["probe", "ssh", f"127.0.0.1:{sim.port}", "--device-type", "cisco_tp", "--username", "admin"]
        options = ["--password-env", "VA_SSH_PW", "--known-hosts", str(known_hosts), "--json"]
        done = subprocess.run(
            [sys.executable, "-m", "agent.cli.main", *command, *options],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "VA_SSH_PW": PASSWORD},
        )
    assert done.returncode == 2, done.stderr
    report = json.loads(done.stdout)
    codec = report["codec"]
    assert codec["software"] == VERSIONS["tc"] and codec["system_state"] == "InCall"
    assert codec["dialect"] == "tc" and codec["diagnostics_read"] is True
    assert codec["temperature_c"] == TC_TEMPERATURE_FOR["Normal"] and codec["temperature"] is None
    assert codec["temperature_limit_c"] == TC_TEMPERATURE_LIMIT_C
    assert codec["registration"] == {"sip": "Registered", "h323": "Inactive"}
    assert {(m["direction"], m["type"]) for m in codec["media"]} == {
        ("Incoming", "Audio"),
        ("Outgoing", "Audio"),
        ("Incoming", "Video"),
        ("Outgoing", "Video"),
    }
    assert {"connector": 1, "connected": True, "signal": "OK", "type": "HDMI"} in codec["video_inputs"]
    verdicts = {f["check"]: f["verdict"] for f in report["findings"]}
    assert verdicts["ssh.media"] == "fail" and verdicts["ssh.commands"] == "ok"
    assert verdicts["ssh.temperature"] == "ok" and verdicts["ssh.diagnostics"] == "ok"


def test_tc_netstat_is_read_under_diagnostics_not_mediachannels(tmp_path):
    """What a TC 7 codec answers over SSH, as its guides place it: `MediaChannels` names the channels
    but carries no Netstat; the counters are `Diagnostics Call n Channels <channel> m Netstat 1`,
    with the last interval's counters, which the loss is read from; the diagnostics messages are
    `SystemUnit Diagnostics Message n`, not a top-level `Diagnostics Message`."""
    known_hosts = tmp_path / "known_hosts"
    with SshDeviceSimulator("cisco_tp") as sim:
        sim.codec = CodecState(software=VERSIONS["tc"], loss_pct=3.0, diagnostics=[("Warning", "CamerasDetected", "x")])
        known_hosts.write_text(sim.known_hosts_line())
        target = _codec_target(sim, known_hosts)
        pool, session = SshPool(1), SshSession(target)
        try:
            answers = session.run(["xStatus MediaChannels", "xStatus Diagnostics", "xStatus SystemUnit"])
            reading = asyncio.run(pool.poll(session))
        finally:
            session.close()
            pool.close()
    lines = {
        command: [line for line in answer.splitlines() if line.startswith("*s ")] for command, answer in answers.items()
    }
    assert lines["xStatus MediaChannels"] and not any("Netstat" in line for line in lines["xStatus MediaChannels"])
    assert (
        "*s Diagnostics Call 3 Channels IncomingVideoChannel 12 Netstat 1 LastIntervalLost: 556"
        in lines["xStatus Diagnostics"]
    )
    assert (
        "*s Diagnostics Call 3 Channels IncomingVideoChannel 12 Netstat 1 LastIntervalReceived: 18000"
        in lines["xStatus Diagnostics"]
    )
    assert "*s SystemUnit Diagnostics Message 1 Level: Warning" in lines["xStatus SystemUnit"]
    assert not any(line.startswith("*s Diagnostics Message") for answer in lines.values() for line in answer)

    video = next(m for m in reading.codec.media if (m.direction, m.type) == ("Incoming", "Video"))
    assert video.call == 3 and video.channel == 12
    assert video.loss_pct == pytest.approx(100 * 556 / (556 + 18000))  # the last interval's counters
    assert video.jitter_ms == 4  # CodecState's default
    assert {(m.direction, m.type) for m in reading.codec.media} == {
        ("Incoming", "Audio"),
        ("Outgoing", "Audio"),
        ("Incoming", "Video"),
        ("Outgoing", "Video"),
    }
    assert reading.codec.diagnostics_read and [(d.level, d.type) for d in reading.codec.diagnostics] == [
        ("Warning", "CamerasDetected")
    ]
