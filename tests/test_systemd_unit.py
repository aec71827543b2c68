"""The service's systemd files, checked by systemd's own tools (issue #14 item 3, docs/service.md).

The unit is rated by `systemd-analyze security --offline=yes` (≤ 1.7 required) and verified with
`systemd-analyze verify`; the sysusers and tmpfiles files are applied by `systemd-sysusers` and
`systemd-tmpfiles` to a throwaway root; the ping sysctl is applied in a private network namespace,
where an unprivileged uid then pings through a ping socket as the agent does. What the agent
needs from the unit (address families, devices, notify/watchdog, reload, no restart on a config
error) is read back from the unit itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from agent.cli.config_check import CONFIG_ERROR_EXIT, CREDENTIAL_ID, ENV_FILE, SERVICE_USER, STATE_DIRECTORY
from contract.secrets import CREDENTIAL_SOURCE_DIR, DIRECTORY_CREDENTIAL_IDS

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "systemd" / "venue-agent.service"
SYSUSERS = ROOT / "systemd" / "venue-agent.sysusers"
TMPFILES = ROOT / "systemd" / "venue-agent.tmpfiles"
PING_SYSCTL = ROOT / "systemd" / "60-venue-agent-ping.conf"
INSTALLED_BINARY = "/opt/venue-agent/venv/bin/venue-agent"
MAX_EXPOSURE = 1.7
UNPRIVILEGED = 61_234  # a uid and gid with no passwd entry

needs_systemd_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="applying sysusers/tmpfiles/sysctl files needs root")


def unit_settings() -> dict[str, list[str]]:
    """Every `Key=value` of the unit, in order, repeated keys kept (systemd's list semantics)."""
    settings: dict[str, list[str]] = defaultdict(list)
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            settings[key.strip()].append(value.strip())
    return settings


@needs_systemd_analyze
def test_the_unit_is_rated_at_most_1_7_exposed():
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=17", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    exposure = float(re.search(r"Overall exposure level for venue-agent\.service: (\d+\.\d)", output).group(1))
    assert exposure <= MAX_EXPOSURE, output
    assert f"{exposure}" in UNIT.read_text(encoding="utf-8"), "the unit's header quotes the measured figure"


@needs_systemd_analyze
def test_the_unit_verifies_clean(tmp_path):
    """verify wants ExecStart= to exist: a copy points it at this checkout's installed entry point."""
    entry = Path(sys.executable).with_name("venue-agent")
    assert entry.exists(), f"{entry}: the project is not installed in this venv"
    text = UNIT.read_text(encoding="utf-8")
    assert INSTALLED_BINARY in text
    copy = tmp_path / "venue-agent.service"
    copy.write_text(text.replace(INSTALLED_BINARY, str(entry)), encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0 and "venue-agent.service" not in result.stdout + result.stderr, result.stderr


def test_the_unit_keeps_what_the_agent_needs():
    unit = unit_settings()
    assert unit["Type"] == ["notify"] and unit["NotifyAccess"] == ["main"] and unit["WatchdogSec"]
    assert unit["ExecStart"] == [f"{INSTALLED_BINARY} run -c /etc/venue-agent/venue.toml"]
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert unit["User"] == [SERVICE_USER] and "DynamicUser" not in unit
    assert unit["StateDirectory"] == [STATE_DIRECTORY.name]
    assert unit["EnvironmentFile"] == [f"-{ENV_FILE}"], "optional: a venue without it still starts"
    assert unit["LoadCredential"] == [f"{CREDENTIAL_ID}:{CREDENTIAL_SOURCE_DIR}"]
    assert CREDENTIAL_ID in DIRECTORY_CREDENTIAL_IDS, "the resolver finds the directory-loaded names"
    families = " ".join(unit["RestrictAddressFamilies"]).split()
    assert {"AF_INET", "AF_INET6", "AF_UNIX"} <= set(families) and not any(f.startswith("~") for f in families)
    assert unit["DevicePolicy"] == ["closed"]
    assert {"char-video4linux rw", "char-alsa rw"} <= set(unit["DeviceAllow"])
    assert unit.get("PrivateDevices", ["no"]) == ["no"], "PrivateDevices= would hide /dev/video* and /dev/snd"
    assert unit.get("MemoryDenyWriteExecute", ["no"]) == ["no"], "sounddevice's cffi callbacks need W+X pages"
    assert unit["CapabilityBoundingSet"] == [""], "ping sockets need no CAP_NET_RAW"


def test_a_config_error_is_not_restarted_and_crashes_are_bounded():
    unit = unit_settings()
    assert unit["Restart"] == ["on-failure"]
    assert str(CONFIG_ERROR_EXIT) in " ".join(unit["RestartPreventExitStatus"]).split()
    assert int(unit["StartLimitBurst"][0]) > 0 and int(unit["StartLimitIntervalSec"][0]) > 0


def _throwaway_root(tmp_path: Path) -> Path:
    """A root with this machine's user database (base-passwd's audio and video groups) and the
    two files installed where the packages put them."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for name in ("passwd", "group", "shadow", "gshadow"):
        if Path("/etc", name).exists():
            shutil.copy2(Path("/etc", name), root / "etc" / name)
    for source, where in ((SYSUSERS, "usr/lib/sysusers.d"), (TMPFILES, "usr/lib/tmpfiles.d")):
        (root / where).mkdir(parents=True)
        shutil.copy(source, root / where / "venue-agent.conf")
    return root


def _entries(path: Path) -> dict[str, list[str]]:
    return {line.split(":")[0]: line.split(":") for line in path.read_text().splitlines() if line}


@needs_root
def test_sysusers_and_tmpfiles_make_the_documented_user_and_directories(tmp_path):
    root = _throwaway_root(tmp_path)
    run = {"capture_output": True, "text": True, "timeout": 60}
    made = subprocess.run(["systemd-sysusers", f"--root={root}", "venue-agent.conf"], **run)
    assert made.returncode == 0, made.stderr
    user = _entries(root / "etc" / "passwd")[SERVICE_USER]
    groups = _entries(root / "etc" / "group")
    uid, gid = int(user[2]), int(user[3])
    assert 0 < uid < 1000 and user[5] == str(STATE_DIRECTORY) and user[6] == "/usr/sbin/nologin"
    assert int(groups[SERVICE_USER][2]) == gid
    for device_group in ("audio", "video"):
        assert SERVICE_USER in groups[device_group][3].split(","), device_group

    created = subprocess.run(["systemd-tmpfiles", f"--root={root}", "--create", "venue-agent.conf"], **run)
    assert created.returncode == 0, created.stderr
    expected = {
        "etc/venue-agent": (0o750, 0, gid),
        "etc/venue-agent/credentials": (0o700, 0, 0),
        STATE_DIRECTORY.relative_to("/"): (0o700, uid, gid),
    }
    for path, (mode, owner, group) in expected.items():
        info = (root / path).stat()
        assert (info.st_mode & 0o7777, info.st_uid, info.st_gid) == (mode, owner, group), path

    # An existing config keeps its content and gets the documented mode (a `z` line never creates).
    (root / "etc/venue-agent/venue.toml").write_text("# edited\n")
    os.chmod(root / "etc/venue-agent/venue.toml", 0o600)
    again = subprocess.run(["systemd-tmpfiles", f"--root={root}", "--create", "venue-agent.conf"], **run)
    assert again.returncode == 0, again.stderr
    config = (root / "etc/venue-agent/venue.toml").stat()
    assert (config.st_mode & 0o777, config.st_uid, config.st_gid) == (0o640, 0, gid)
    assert (root / "etc/venue-agent/venue.toml").read_text() == "# edited\n"
    assert not (root / "etc/venue-agent/venue-agent.env").exists()


@needs_root
@pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("setpriv") is None, reason="no unshare/setpriv")
def test_the_ping_sysctl_lets_an_unprivileged_uid_ping_as_the_agent_does():
    """In a private network namespace (its own ping_group_range, the host's untouched): the agent's
    ICMP echo as a uid without privileges is refused, then answered once the drop-in is applied."""
    sysctl = "/usr/lib/systemd/systemd-sysctl"
    if not Path(sysctl).exists():
        pytest.skip("no systemd-sysctl")
    ping = (
        f"setpriv --reuid={UNPRIVILEGED} --regid={UNPRIVILEGED} --clear-groups --inh-caps=-all "
        f"{sys.executable} -c 'from collectors.net.path import icmp_echo; "
        'r = icmp_echo("127.0.0.1", count=2, interval_s=0.05, timeout_s=2); '
        "print(r.error or len(r.rtts_ms))'"
    )
    script = f"ip link set lo up && {ping} && {sysctl} {PING_SYSCTL} && {ping}"
    result = subprocess.run(
        ["unshare", "--net", "sh", "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    if result.returncode != 0 and "unshare" in result.stderr:
        pytest.skip(f"cannot make a network namespace here: {result.stderr.strip()}")
    before, after = result.stdout.strip().splitlines()
    assert "ICMP echo not permitted" in before, result
    assert after == "2", result
