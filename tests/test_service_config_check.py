"""`venue-agent config check --service` (issue #14 item 2): the config read as the service reads it.

A real venue tree with real modes — /etc-like directory 0750 root:GID, config, TLS files and
known_hosts 0640 root:GID, an environment file with the `*_env` secrets, a credential directory
0700 root — and a service uid with no passwd entry (`--user UID:GID`, the process re-executed
through setpriv). The kernel answers every permission question; nothing is mocked. Needs root
(to switch uid and to own files as root), else skipped. Also: the credential fallback outside
systemd, for `config check` and `status` (a real mosquitto), and systemd's EnvironmentFile= rules.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.cli.config_check import parse_env_file
from contract.secrets import CREDENTIAL_SOURCE_VARIABLE, SecretError, resolve_credential

UID = GID = 61_235  # no passwd or group entry: a uid only setpriv gives a process
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="switching to the service uid and root-owned modes need root")


def venue_agent(*args: str, env: dict[str, str] | None = None, user: int | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "agent", *args]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", "--", *command]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=180, cwd="/", env={**os.environ, **(env or {})}
    )


@dataclass
class Venue:
    """The files of one venue, laid out as docs/install.md installs them."""

    root: Path

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def config(self) -> Path:
        return self.etc / "venue.toml"

    @property
    def env_file(self) -> Path:
        return self.etc / "venue-agent.env"

    @property
    def credentials(self) -> Path:
        return self.etc / "credentials"

    @property
    def state(self) -> Path:
        return self.root / "state"

    def check(self, *extra: str) -> subprocess.CompletedProcess:
        return venue_agent(
            "config",
            "check",
            "-c",
            str(self.config),
            "--service",
            "--user",
            f"{UID}:{GID}",
            "--env-file",
            str(self.env_file),
            "--credentials-dir",
            str(self.credentials),
            "--state-directory",
            str(self.state),
            *extra,
        )


def _write(path: Path, text: str, mode: int, uid: int = 0, gid: int = GID) -> None:
    path.write_text(text, encoding="utf-8")
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def config_text(root: Path) -> str:
    etc = root / "etc"
    return f"""
[venue]
province = "jilin"
prefecture = "changchun"
county = "nongan"
id = "main"
name = "农安县政府视频会议室"

[broker]
url = "mqtts://hub.example.gov.cn:8883"
username = "nongan-main"
password_credential = "broker-password"

[broker.tls]
ca_file = "{etc}/hub-ca.pem"
cert_file = "{etc}/client.pem"
key_file = "{etc}/client.key"

[agent]
state_dir = "{root}/state"

[schedule]
ics_file = "{etc}/conferences.ics"

[[snmp.devices]]
name = "codec"
host = "10.20.1.10"
community_env = "CODEC_COMMUNITY"

[[snmp.devices]]
name = "venue-switch"
host = "10.20.1.1"
version = "3"
[snmp.devices.v3]
user = "venue-agent"
auth_protocol = "sha256"
auth_key_env = "SWITCH_AUTH_KEY"
priv_protocol = "aes128"
priv_key_env = "SWITCH_PRIV_KEY"

[ssh]
known_hosts = "{etc}/ssh_known_hosts"

[[ssh.devices]]
name = "codec-ssh"
host = "10.20.1.10"
device_type = "cisco_tp"
username = "monitor"
password_env = "CODEC_SSH_PASSWORD"
"""


ICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nEND:VCALENDAR\r\n"
ENV = (
    "# device secrets for venue-agent (EnvironmentFile=)\n"
    'CODEC_COMMUNITY="jl gov#2026"\n'
    "SWITCH_AUTH_KEY='auth key 1'\n"
    "SWITCH_PRIV_KEY=priv-key-2   \n"
    "CODEC_SSH_PASSWORD=ssh\\ pw\n"
)


@pytest.fixture
def venue() -> Iterator[Venue]:
    """A venue tree outside pytest's 0700 tmp_path, so that the service uid can reach it; removed after."""
    root = Path(tempfile.mkdtemp(prefix="venue-agent-service-check-", dir="/tmp"))
    try:
        os.chmod(root, 0o755)
        etc = root / "etc"
        etc.mkdir()
        os.chown(etc, 0, GID)
        os.chmod(etc, 0o750)
        _write(etc / "venue.toml", config_text(root), 0o640)
        for name in ("hub-ca.pem", "client.pem", "client.key", "ssh_known_hosts"):
            _write(etc / name, f"{name}\n", 0o640)
        _write(etc / "conferences.ics", ICS, 0o640)
        _write(etc / "venue-agent.env", ENV, 0o640)
        credentials = etc / "credentials"
        credentials.mkdir(mode=0o700)
        _write(credentials / "broker-password", "from-the-credential\n", 0o600, gid=0)
        (root / "state").mkdir()
        os.chown(root / "state", UID, GID)
        os.chmod(root / "state", 0o700)
        yield Venue(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@as_root
def test_a_venue_installed_as_documented_passes_as_the_service_user(venue):
    result = venue.check()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"OK: {venue.config}"), result.stdout
    # 4 TLS/known_hosts files + the .ics + the state dir; broker + 2 SNMP devices + the SSH password.
    assert f"as the service user uid {UID}: 6 file(s) and 4 secret(s) usable" in result.stdout, result.stdout
    assert "from-the-credential" not in result.stdout + result.stderr and "jl gov" not in result.stdout + result.stderr


@as_root
def test_each_thing_the_service_cannot_read_is_named_with_its_field(venue):
    os.chmod(venue.etc / "client.key", 0o600)  # root's only: a typical `install -m 0600`
    os.chown(venue.etc / "ssh_known_hosts", 0, 0)  # root:root 0640 (group root, not the service's)
    _write(venue.env_file, ENV.replace("SWITCH_PRIV_KEY=priv-key-2   \n", "export SWITCH_PRIV_KEY=x\n"), 0o640)
    (venue.credentials / "broker-password").rename(venue.credentials / "broker.pw")
    result = venue.check()
    assert result.returncode == 2, result.stderr
    errors = result.stderr
    assert f"broker.tls.key_file: 服务用户 uid {UID} 无法读取 {venue.etc}/client.key" in errors
    assert f"uid {UID} cannot read {venue.etc}/client.key: Permission denied" in errors
    assert f"ssh.known_hosts: 服务用户 uid {UID} 无法读取 {venue.etc}/ssh_known_hosts" in errors
    # systemd takes `export SWITCH_PRIV_KEY` as the name of an invalid variable and drops the line.
    assert "systemd ignores this line ('export SWITCH_PRIV_KEY' is not a variable name)" in errors
    assert "snmp.devices[venue-switch].v3.priv_key_env: " in errors and "SWITCH_PRIV_KEY is not set" in errors
    assert "broker.password_credential: " in errors and "venue-agent_broker-password" in errors
    assert f"4 thing(s) the service user uid {UID} cannot read or use" in errors
    assert "SWITCH_AUTH_KEY" not in errors, "what resolves is not mentioned"


@as_root
def test_a_config_the_service_cannot_read_and_a_missing_credential_directory(venue):
    os.chmod(venue.config, 0o600)  # /etc/venue-agent 0750 root:root in the old install doc: the same effect
    shutil.rmtree(venue.credentials)
    result = venue.check()
    assert result.returncode == 2, result.stderr
    assert "LoadCredential= fails and the service does not start" in result.stderr
    assert f"as the service user uid {UID}" in result.stderr
    assert f"{venue.config}: cannot read the file: Permission denied" in result.stderr


@as_root
def test_the_state_directory_must_be_the_units_writable_one(venue):
    result = venue.check("--state-directory", str(venue.root / "elsewhere"))
    assert result.returncode == 2
    assert f"agent.state_dir: {venue.state} 不在服务唯一可写的 {venue.root / 'elsewhere'} 之下" in result.stderr
    assert "(ProtectSystem=strict)" in result.stderr


@as_root
def test_only_root_can_check_as_the_service_and_a_missing_user_is_named(venue):
    refused = venue_agent("config", "check", "-c", str(venue.config), "--service", user=UID)
    assert refused.returncode == 3 and refused.stderr.startswith("UNKNOWN: 须以 root 运行"), refused.stderr
    unknown = venue_agent("config", "check", "-c", str(venue.config), "--service", "--user", "no-such-venue-user")
    assert unknown.returncode == 2 and "there is no user no-such-venue-user" in unknown.stderr


def test_outside_systemd_a_credential_is_read_from_the_source_directory(tmp_path):
    source = tmp_path / "credentials"
    source.mkdir()
    (source / "broker-password").write_text("pw\n")
    env = {CREDENTIAL_SOURCE_VARIABLE: str(source)}
    assert resolve_credential("broker-password", "broker.password_credential", env) == "pw"
    with pytest.raises(SecretError) as missing:
        resolve_credential("codec-ssh", "ssh.devices[codec-ssh].password_credential", env)
    assert missing.value.issue.field == "ssh.devices[codec-ssh].password_credential"
    assert f"cannot read {source}/codec-ssh" in missing.value.issue.message
    assert "$CREDENTIALS_DIRECTORY is not set" in missing.value.issue.message
    under_systemd = {"CREDENTIALS_DIRECTORY": str(source)}
    (source / "venue-agent_codec-ssh").write_text("loaded from the directory\n")
    assert resolve_credential("codec-ssh", "x", under_systemd) == "loaded from the directory"
    with pytest.raises(SecretError, match="not a credential name"):
        resolve_credential("../shadow", "x", under_systemd)


def test_status_and_config_check_outside_systemd_use_the_credential_source(broker, tmp_path):
    from sim.venue import write_config

    config = write_config(tmp_path / "venue", broker.url)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[agent]", 'username = "u"\npassword_credential = "broker-password"\n\n[agent]', 1))
    source = tmp_path / "credentials"
    source.mkdir()
    env = {CREDENTIAL_SOURCE_VARIABLE: str(source)}
    env_clean = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "agent", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**env_clean, **env},
        )

    missing = run("status", "-c", str(config), "--timeout", "1")
    assert missing.returncode == 3 and f"cannot read {source}/broker-password" in missing.stderr, missing.stderr
    checked = run("config", "check", "-c", str(config))
    assert checked.returncode == 2 and f"{source}/broker-password" in checked.stderr
    (source / "broker-password").write_text("secret-pw\n")
    found = run("status", "-c", str(config), "--timeout", "1")
    assert "broker-password" not in found.stderr and "secret-pw" not in found.stdout + found.stderr, found.stderr
    assert run("config", "check", "-c", str(config)).returncode == 0


def test_the_environment_file_is_read_by_systemds_rules():
    parsed = parse_env_file(
        "# comment\n"
        "; also a comment\n"
        "  PLAIN = value with spaces   \n"
        'QUOTED="a # not a comment \\"q\\" \\n kept"\n'
        "SINGLE='$HOME stays'\n"
        "JOINED=first\\\n"
        "second\n"
        "EMPTY=\n"
        "no equals sign\n"
        "export EXPORTED=1\n"
        "1BAD=x\n"
        "PLAIN=last wins\n"
    )
    assert parsed.variables == {
        "PLAIN": "last wins",
        "QUOTED": 'a # not a comment "q" \\n kept',
        "SINGLE": "$HOME stays",
        "JOINED": "firstsecond",
        "EMPTY": "",
    }
    assert [why for _, why in parsed.ignored] == [
        "no '='",
        "'export EXPORTED' is not a variable name",
        "'1BAD' is not a variable name",
    ]
    assert [line for line, _ in parsed.ignored] == [9, 10, 11]
