"""Config files: the examples validate; every kind of bad config gets a message naming field and line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.config import ConfigError, load_config, parse_config
from agent.config.locate import index_lines, line_of
from agent.config.secrets import SecretError, resolve_password
from contract.broker import BrokerConfig

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = """\
[venue]
province = "jilin"
prefecture = "changchun"
county = "nongan"      # a prefecture's own venue: see docs
id = "main"
name = "农安县政府视频会议室"

[broker]
url = "mqtt://127.0.0.1:1883"     # mqtts:// for TLS

[agent]
state_dir = "/var/lib/venue-agent"  # outbox and state live here
"""


def issues_of(text: str) -> list:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Path("venue.toml"))
    return caught.value.issues


def test_minimal_config_from_the_issue_takes_defaults():
    settings = parse_config(MINIMAL, Path("venue.toml"))
    assert settings.broker.port == 1883 and settings.broker.protocol == "5"
    assert settings.broker.topic_prefix == "vc" and settings.agent.outbox_max_messages == 100_000
    assert settings.venue.level == "county"


@pytest.mark.parametrize("name", ["county.example.toml", "prefecture.example.toml"])
def test_examples_validate(name):
    settings = load_config(ROOT / "config" / name)
    assert settings.venue.level == name.split(".")[0]


def test_unknown_key_named_with_its_line():
    text = MINIMAL.replace('id = "main"', 'id = "main"\nnmae = "typo"')
    [issue] = issues_of(text)
    assert issue.field == "venue.nmae" and "unknown key" in issue.message and issue.line == 6


def test_wrong_type_named_with_its_line():
    text = MINIMAL + 'status_interval_s = "often"\n'
    [issue] = issues_of(text)
    assert issue.field == "agent.status_interval_s" and issue.line == 13 and "'often'" in issue.message


def test_missing_section_and_missing_key():
    text = MINIMAL.replace('[broker]\nurl = "mqtt://127.0.0.1:1883"     # mqtts:// for TLS\n', "")
    text = text.replace('id = "main"\n', "")
    issues = {issue.field: issue for issue in issues_of(text)}
    assert issues["broker"].message == "required table is missing" and issues["broker"].line is None
    assert issues["venue.id"].message == "required but missing" and issues["venue.id"].line == 1


def test_every_error_is_reported_not_just_the_first():
    text = MINIMAL.replace('"mqtt://127.0.0.1:1883"', '"http://x"').replace('"nongan"', '"Nong An"')
    fields = {issue.field for issue in issues_of(text)}
    assert fields == {"broker.url", "venue.county"}


def test_broken_toml_names_the_line():
    [issue] = issues_of(MINIMAL.replace('id = "main"', 'id = "main'))
    assert "not valid TOML" in issue.message and "line 5" in issue.message


def test_unreadable_file(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "absent.toml")
    assert "cannot read the file" in str(caught.value) and "absent.toml" in str(caught.value)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_config(binary)


def test_array_of_tables_and_inline_tables_are_located():
    text = (
        MINIMAL
        + '[[contacts.technicians]]\nname = "a"\nphone = "123456"\n[[contacts.technicians]]\nname = "b"\nphone = "x"\n'
    )
    [issue] = issues_of(text)
    assert issue.field == "contacts.technicians[1].phone" and issue.line == 18 and "phone number" in issue.message
    lines = index_lines("[a]\nb = { c = 1 }\n")
    assert line_of(lines, ("a", "b", "c")) == 2


def test_two_password_sources_are_refused():
    text = MINIMAL.replace('url = "mqtt://127.0.0.1:1883"', 'url = "mqtt://h"\npassword = "x"\npassword_env = "Y"')
    [issue] = issues_of(text)
    assert issue.field == "broker" and "password_env" in issue.message


def test_password_sources(tmp_path):
    base = parse_config(MINIMAL, Path("v.toml")).broker
    assert resolve_password(base.model_copy(update={"password_env": "PW"}), {"PW": "s3cret"}) == "s3cret"
    with pytest.raises(SecretError, match="PW is not set"):
        resolve_password(base.model_copy(update={"password_env": "PW"}), {})
    (tmp_path / "pw").write_text("from-file\n")
    assert resolve_password(base.model_copy(update={"password_file": tmp_path / "pw"}), {}) == "from-file"
    (tmp_path / "cred").mkdir()
    (tmp_path / "cred" / "broker-password").write_text("from-systemd")
    broker = base.model_copy(update={"password_credential": "broker-password"})
    assert resolve_password(broker, {"CREDENTIALS_DIRECTORY": str(tmp_path / "cred")}) == "from-systemd"
    with pytest.raises(SecretError, match="CREDENTIALS_DIRECTORY"):
        resolve_password(broker, {})


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_config_check_cli_ok_and_errors(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(MINIMAL, encoding="utf-8")
    result = run_cli("config", "check", "-c", str(good))
    assert (
        result.returncode == 0 and result.stdout.startswith("OK") and "vc/jilin/changchun/nongan/main" in result.stdout
    )

    bad = tmp_path / "bad.toml"
    bad.write_text(MINIMAL.replace("[agent]", "[agent]\nlog_levl = 'debug'\nstatus_interval_s = -1"), encoding="utf-8")
    result = run_cli("config", "check", "-c", str(bad))
    assert result.returncode != 0
    assert f"{bad}:12: agent.log_levl: unknown key" in result.stderr
    assert f"{bad}:13: agent.status_interval_s:" in result.stderr and "2 error(s)" in result.stderr


def test_config_check_never_prints_the_password(tmp_path):
    path = tmp_path / "pw.toml"
    path.write_text(MINIMAL.replace('url = "mqtt://127.0.0.1:1883"', 'url = "mqtt://h"\npassword = "hunter2-secret"'))
    result = run_cli("config", "check", "-c", str(path))
    assert result.returncode == 0 and "hunter2-secret" not in result.stdout + result.stderr
    path.write_text(
        MINIMAL.replace("[agent]", 'password = "hunter2-secret"\n[agent]').replace(
            'url = "mqtt://127.0.0.1:1883"', 'url = "ftp://h"'
        )
    )
    result = run_cli("config", "check", "-c", str(path))
    assert result.returncode != 0 and "hunter2-secret" not in result.stdout + result.stderr
    env_path = tmp_path / "env.toml"
    env_path.write_text(MINIMAL.replace('url = "mqtt://127.0.0.1:1883"', 'url = "mqtt://h"\npassword_env = "NOPE_PW"'))
    result = run_cli("config", "check", "-c", str(env_path), env={"NOPE_PW": ""} | {})
    assert result.returncode == 0
    result = subprocess.run(
        [sys.executable, "-m", "agent", "config", "check", "-c", str(env_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "NOPE_PW"},
    )
    assert result.returncode != 0 and "broker.password_env" in result.stderr and "NOPE_PW is not set" in result.stderr


def test_snmp_devices_validate_with_clear_errors():
    good = MINIMAL + '[[snmp.devices]]\nname = "codec"\nhost = "10.0.0.2"\n'
    assert parse_config(good, Path("v.toml")).snmp.devices[0].port == 161
    v3_missing = MINIMAL + '[[snmp.devices]]\nname = "codec"\nhost = "h"\nversion = "3"\n'
    [issue] = issues_of(v3_missing)
    assert issue.field == "snmp.devices[0]" and "version 3 needs" in issue.message and issue.line == 13
    duplicate = good + '[[snmp.devices]]\nname = "codec"\nhost = "10.0.0.3"\n'
    [issue] = issues_of(duplicate)
    assert issue.field == "snmp" and "unique: codec" in issue.message
    no_key = MINIMAL + (
        '[[snmp.devices]]\nname = "sw"\nhost = "h"\nversion = "3"\n[snmp.devices.v3]\nuser = "u"\nauth_key_env = "A"\n'
    )
    [issue] = issues_of(no_key)
    assert issue.field == "snmp.devices[0].v3" and "priv_key" in issue.message
    bad_threshold = MINIMAL + "[snmp.thresholds]\ncpu_warn_pct = 120\n"
    [issue] = issues_of(bad_threshold)
    assert issue.field == "snmp.thresholds.cpu_warn_pct" and issue.line == 14


def test_conferences_in_the_config():
    good = MINIMAL + (
        '[[conference]]\nid = "c1"\ntitle = "全省会议"\nkind = "provincial"\n'
        "start = 2026-12-02T14:30:00+08:00\nduration_min = 60\n"
    )
    settings = parse_config(good, Path("v.toml"))
    assert settings.conference[0].kind == "provincial" and settings.schedule.timezone == "Asia/Shanghai"
    naive = good.replace("2026-12-02T14:30:00+08:00", "2026-12-02T14:30:00")
    [issue] = issues_of(naive)
    assert issue.field == "conference[0].start" and issue.line == 17 and "timezone" in issue.message
    twice = good + good[len(MINIMAL) :]
    [issue] = issues_of(twice)
    assert "conference ids must be unique: c1" in issue.message
    [issue] = issues_of(MINIMAL + '[schedule]\ntimezone = "Mars/Olympus"\n')
    assert issue.field == "schedule.timezone" and "unknown time zone" in issue.message


def test_ssh_and_selftest_tables_are_checked():
    device = '[[ssh.devices]]\nname = "codec"\nhost = "10.0.0.9"\ndevice_type = "cisco_ce"\nusername = "u"\n'
    issues = {issue.field: issue for issue in issues_of(MINIMAL + device + "\n[selftest]\nports = [5060, 70000]\n")}
    assert "no SSH profile for 'cisco_ce'" in issues["ssh.devices[0].device_type"].message
    assert "cisco_tp" in issues["ssh.devices[0].device_type"].message
    no_secret = issues_of(MINIMAL + device.replace("cisco_ce", "huawei"))
    assert [(i.field, "password_env" in i.message) for i in no_secret] == [("ssh.devices[0]", True)]
    assert "1–65535" in issues["selftest.ports"].message


def test_ssh_device_password_from_a_systemd_credential(tmp_path):
    from agent.config.secrets import resolve_password_fields

    text = MINIMAL + (
        '[[ssh.devices]]\nname = "codec"\nhost = "h"\ndevice_type = "cisco_tp"\nusername = "u"\n'
        'password_credential = "codec-ssh"\n'
    )
    device = parse_config(text, Path("v.toml")).ssh.devices[0]
    (tmp_path / "codec-ssh").write_text("from-systemd")
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    assert resolve_password_fields(device, "ssh.devices[codec]", env) == "from-systemd"
    with pytest.raises(SecretError, match=r"ssh.devices\[codec\].password_credential"):
        resolve_password_fields(device, "ssh.devices[codec]", {})


def test_a_password_file_that_is_a_fifo_or_endless_is_refused_not_waited_on(tmp_path):
    """A mistyped password_file naming a FIFO hung `config check` and the start; /dev/zero would fill memory."""
    fifo = tmp_path / "password"
    os.mkfifo(fifo)
    for path, reason in ((fifo, "FIFO"), (Path("/dev/zero"), "character device")):
        broker = BrokerConfig(url="mqtt://127.0.0.1:1883", username="u", password_file=path)
        with pytest.raises(SecretError, match=reason) as raised:
            resolve_password(broker)
        assert "broker.password_file" in str(raised.value)


def test_an_ssh_threshold_key_ssh_does_not_read_is_refused():
    """[ssh.thresholds] used to take every [snmp.thresholds] key and ignore most: a silent typo."""
    text = Path("config/county.example.toml").read_text(encoding="utf-8") + "\n[ssh.thresholds]\ntemp_warn_c = 50\n"
    with pytest.raises(ConfigError) as raised:
        parse_config(text, Path("venue.toml"))
    assert any(i.field == "ssh.thresholds.temp_warn_c" and "unknown key" in i.message for i in raised.value.issues)
    ok = Path("config/county.example.toml").read_text(encoding="utf-8") + "\n[ssh.thresholds]\ncpu_warn_pct = 70\n"
    assert parse_config(ok, Path("venue.toml")).ssh.thresholds.cpu_warn_pct == 70
