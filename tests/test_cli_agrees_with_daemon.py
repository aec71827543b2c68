"""The CLI agrees with the daemon (#17 item 5), through the real entry point against real peers:

- `schedule` lists what the running daemon holds after two offices pushed `cmd/schedule` through a
  real mosquitto, each conference with the office that pushed it; a state file the user cannot
  read is said (UNKNOWN, exit 3), not shown as "no conferences ahead";
- `selftest` next to a running daemon asks it (the daemon holds the sources), `--local` does not;
- every probe takes `-c FILE [NAME]` and then judges as when the same device is typed in full
  (snmpsim, an SSH codec simulator, a sound file, a picture file, a UDP echo);
- frozen and black pictures are caught with the default durations.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from agent.config import load_config
from agent.schedule.keeper import ScheduleKeeper
from sim.snmp import SnmpSimulator
from sim.speech import room, write
from sim.ssh_devices import SshDeviceSimulator
from sim.venue import write_config
from tests.test_net_path import LossyUdpEcho
from tests.video_media import photo, still_video

BASE = "vc/jilin/changchun/nongan/main"
REPLY_TOPIC = f"{BASE}/cmd/replies/cli-test"
HEADLINE = re.compile(r"^(OK|WARNING|CRITICAL|UNKNOWN) \(exit (\d)\)")


def venue_agent(*args: str, prefix: tuple[str, ...] = (), **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "agent.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "160", "VENUE_AGENT_LANG": "en", **env},
    )


def headline_code(result: subprocess.CompletedProcess[str]) -> int:
    match = HEADLINE.match(result.stdout.splitlines()[0] if result.stdout else "")
    assert match, (result.stdout[-600:], result.stderr[-600:])
    assert int(match[2]) == result.returncode, result.stdout.splitlines()[0]
    return result.returncode


def verdicts(document: dict) -> dict[str, str]:
    return {f"{f['check']}@{f['subject']}": f["verdict"] for f in document["findings"]}


def conference(conference_id: str, title: str, hours: float) -> dict:
    start = (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0)
    return {"id": conference_id, "title": title, "kind": "provincial", "start": start.isoformat(), "duration_min": 60}


@pytest.mark.timeout(240)
def test_schedule_and_selftest_beside_a_running_daemon(broker, hub, start_agent, tmp_path):
    speech = write(tmp_path / "speech.wav", room())
    extra = f'[audio]\nsource = "{speech}"\ninterval_s = 2\n\n[selftest]\nsample_s = 2\n'
    agent = start_agent(broker.url, flap_interval_s=3600, status_interval_s=1, extra=extra)
    hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "agent.started", timeout=30)
    pushes = {
        "vc/jilin/#": [conference("sheng-1", "省政府电视电话会议", 30)],
        "vc/jilin/changchun/#": [conference("shi-1", "市政府会议", 50)],
    }
    for number, (office, conferences) in enumerate(pushes.items()):
        correlation = f"push-{number}".encode()
        hub.publish(
            f"{BASE}/cmd/schedule",
            json.dumps({"args": {"conferences": conferences, "office": office}}).encode(),
            response_topic=REPLY_TOPIC,
            correlation=correlation,
        )
        reply = hub.wait_for(lambda m, c=correlation: m.topic == REPLY_TOPIC and m.correlation == c)[0].json()
        assert reply["ok"] is True, reply

    listed = venue_agent("schedule", "-c", str(agent.config), "--json")
    assert listed.returncode == 0, listed.stderr
    offices = {item["id"]: (item["source"], item["office"]) for item in json.loads(listed.stdout)}
    assert offices == {"sheng-1": ("pushed", "vc/jilin/#"), "shi-1": ("pushed", "vc/jilin/changchun/#")}
    table = venue_agent("schedule", "-c", str(agent.config))
    assert table.returncode == 0 and "no conferences ahead" not in table.stdout
    assert "pushed by vc/jilin/#" in table.stdout and "pushed by vc/jilin/changchun/#" in table.stdout
    zh = venue_agent("--lang", "zh", "schedule", "-c", str(agent.config))
    assert "由 vc/jilin/# 下发" in zh.stdout

    # The daemon holds the sound input: selftest asks it, and says so on one line.
    asked = venue_agent("selftest", "-c", str(agent.config), "--json")
    assert asked.returncode in (0, 1, 2), asked.stderr
    assert f"pid {agent.process.pid}" in asked.stderr and "--via-broker" in asked.stderr
    assert json.loads(asked.stdout)["trigger"] == "command"  # the daemon's own run
    shown = venue_agent("selftest", "-c", str(agent.config), "--problems")
    headline_code(shown)
    here = venue_agent("selftest", "-c", str(agent.config), "--local", "--json")
    assert "--via-broker" not in here.stderr and json.loads(here.stdout)["trigger"] == "cli"

    agent.stop()  # gone: its retained availability is offline, so the self-test runs here again
    alone = venue_agent("selftest", "-c", str(agent.config), "--json")
    assert "--via-broker" not in alone.stderr and json.loads(alone.stdout)["trigger"] == "cli"


def test_an_unreadable_pushed_schedule_is_said_not_hidden():
    """As the daemon stores it (ScheduleKeeper.push), in a state directory only its owner reads."""
    root = Path(tempfile.mkdtemp(prefix="venue-agent-cli-"))
    try:
        root.chmod(0o755)
        config = write_config(root / "venue", "mqtt://127.0.0.1:1")
        (root / "venue").chmod(0o755)
        config.chmod(0o644)
        ScheduleKeeper(load_config(config)).push(
            {"conferences": [conference("sheng-2", "省会", 20)], "office": "vc/jilin/#"}
        )
        state = root / "venue" / "state"
        state.chmod(0o700)
        if os.geteuid() == 0:  # root reads anything: look as nobody, as a technician without sudo would
            prefix: tuple[str, ...] = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--")
            if shutil.which("setpriv") is None:
                pytest.skip("setpriv (util-linux) is needed to run the CLI as another user")
        else:
            prefix = ()
            (state / "pushed_schedule.json").chmod(0)
        result = venue_agent("schedule", "-c", str(config), prefix=prefix, HOME="/tmp")
        assert result.returncode == 3, (result.stdout, result.stderr)
        assert "cannot read the daemon's pushed schedule" in result.stderr and "sudo -u venue-agent" in result.stderr
        assert "no conferences ahead" not in result.stdout
        readable = venue_agent("schedule", "-c", str(config), "--json")
        if os.geteuid() == 0:
            assert readable.returncode == 0 and [c["id"] for c in json.loads(readable.stdout)] == ["sheng-2"]
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.timeout(300)
def test_probe_snmp_ssh_with_the_config(tmp_path):
    with SnmpSimulator() as simulator, SshDeviceSimulator("cisco_tp") as codec:
        known_hosts = tmp_path / "ssh_known_hosts"
        known_hosts.write_text(codec.known_hosts_line(), encoding="utf-8")
        extra = f"""
[snmp]
timeout_s = 1

[[snmp.devices]]
name = "codec"
host = "127.0.0.1"
port = {simulator.port}
community_env = "SIM_COMMUNITY"

[[snmp.devices]]
name = "core-switch"
host = "127.0.0.1"
port = {simulator.port}
community = "zte_zxr10"

[ssh]
known_hosts = "{known_hosts}"

[[ssh.devices]]
name = "codec"
host = "127.0.0.1"
port = {codec.port}
device_type = "cisco_tp"
username = "{codec.username}"
password_env = "SIM_SSH_PASSWORD"
"""
        config = write_config(tmp_path / "venue", "mqtt://127.0.0.1:1", extra=extra)
        env = {"SIM_COMMUNITY": "poly_in_call", "SIM_SSH_PASSWORD": codec.password}
        configured = venue_agent("probe", "snmp", "-c", str(config), "codec", "--json", **env)
        typed = venue_agent(
            "probe", "snmp", f"127.0.0.1:{simulator.port}", "--community", "poly_in_call", "--timeout", "1", "--json"
        )
        assert configured.returncode == typed.returncode == 2, configured.stderr
        assert sorted(verdicts(json.loads(configured.stdout)).values()) == sorted(
            verdicts(json.loads(typed.stdout)).values()
        )
        assert headline_code(venue_agent("probe", "snmp", "-c", str(config), "core-switch", **env)) == 0
        unknown = venue_agent("probe", "snmp", "-c", str(config), "nosuch", **env)
        assert unknown.returncode == 3 and "no snmp.devices device named 'nosuch'" in unknown.stderr
        assert "codec, core-switch" in unknown.stderr
        no_secret = venue_agent("probe", "snmp", "-c", str(config), "codec")
        assert no_secret.returncode == 3 and "SIM_COMMUNITY" in no_secret.stderr

        ssh = venue_agent("probe", "ssh", "-c", str(config), "--json", **env)  # the only [[ssh.devices]]
        by_hand = venue_agent(
            "probe", "ssh", f"127.0.0.1:{codec.port}", "--device-type", "cisco_tp", "--username", codec.username,
            "--password-env", "SIM_SSH_PASSWORD", "--known-hosts", str(known_hosts), "--json", **env,
        )  # fmt: skip
        assert ssh.returncode == by_hand.returncode and ssh.returncode in (0, 1, 2), ssh.stderr
        document = json.loads(ssh.stdout)
        assert document["device"]["reachable"] is True and document["codec"]["product"]
        known_hosts.write_text("", encoding="utf-8")  # the config's known_hosts is the one checked
        refused = venue_agent("probe", "ssh", "-c", str(config), "codec", "--json", **env)
        assert refused.returncode == 2 and json.loads(refused.stdout)["device"]["error_kind"] == "hostkey_unknown"


@pytest.mark.timeout(300)
def test_probe_video_audio_net_with_the_config(tmp_path):
    still = still_video(tmp_path / "still.mp4", photo("astronaut"), 12)
    speech = write(tmp_path / "room.wav", room())
    echo = LossyUdpEcho(drop_every=0)
    try:
        extra = f"""
[video]
source = "{still}"

[audio]
source = "{speech}"

[selftest]
far_end = "127.0.0.1"
udp_echo_port = {echo.port}
ports = []
probes = 10
probe_interval_s = 0.01
"""
        config = write_config(tmp_path / "venue", "mqtt://127.0.0.1:1", extra=extra)
        video = venue_agent("probe", "video", "-c", str(config), "--json")
        assert video.returncode == venue_agent("probe", "video", str(still), "--json").returncode == 2
        assert json.loads(video.stdout)["source"] == str(still)
        audio = venue_agent("probe", "audio", "-c", str(config))
        assert headline_code(audio) == venue_agent("probe", "audio", str(speech)).returncode == 0
        net = venue_agent("probe", "net", "-c", str(config), "--json")
        document = json.loads(net.stdout)
        assert net.returncode == 0 and document["method"] == "udp-echo" and document["sent"] == 10, net.stdout
        assert document["target"] == "127.0.0.1" and document["ports"] == []
        bare = write_config(tmp_path / "bare", "mqtt://127.0.0.1:1")
        missing = venue_agent("probe", "video", "-c", str(bare))
        assert missing.returncode == 3 and "the config has no [video]" in missing.stderr
    finally:
        echo.close()


def _ffmpeg_video(path: Path, source: str, seconds: float) -> Path:
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"{source}:duration={seconds}",
         "-pix_fmt", "yuv420p", "-c:v", "libx264", str(path)],
        check=True,
        timeout=60,
    )  # fmt: skip
    return path


@pytest.mark.timeout(300)
def test_frozen_and_black_with_the_default_durations(tmp_path):
    """The issue's case: a 12 s still used to be `frozen: true` in the metrics, video.signal ok, exit 0."""
    still = still_video(tmp_path / "still.mp4", photo("astronaut"), 12)
    frozen = venue_agent("probe", "video", str(still), "--json")
    document = json.loads(frozen.stdout)
    signal = document["findings"][0]
    assert frozen.returncode == 2 and signal["check"] == "video.signal" and signal["code"] == "video.signal.frozen"
    assert document["metrics"]["frozen"] is True
    short = venue_agent("probe", "video", str(still), "--seconds", "5", "--json")
    signal = json.loads(short.stdout)["findings"][0]
    assert short.returncode == 1 and signal["code"] == "video.signal.frozen_throughout", signal
    headline_code(venue_agent("probe", "video", str(still), "--seconds", "5"))
    black = _ffmpeg_video(tmp_path / "black.mp4", "color=c=black:size=640x360:rate=25", 6)
    result = json.loads(venue_agent("probe", "video", str(black), "--json").stdout)
    assert result["findings"][0]["code"] == "video.signal.black"
    moving = _ffmpeg_video(tmp_path / "moving.mp4", "testsrc2=size=640x360:rate=25", 6)
    result = json.loads(venue_agent("probe", "video", str(moving), "--json").stdout)
    assert result["findings"][0]["code"] == "video.signal.ok" and result["metrics"]["frozen"] is False
    assert np.isfinite(result["analysed_s"])
