"""TLS with a client certificate, and username/password, against a real mosquitto; secrets never logged."""

from __future__ import annotations

import subprocess
import time

import pytest

from sim.broker import Mosquitto
from tests.peers.hub import Hub
from tests.peers.pki import make_pki

BASE = "vc/jilin/changchun/nongan/main"
SECRET = "Zq8-very-secret-pw"


@pytest.fixture
def secured_broker(tmp_path):
    pki = make_pki(tmp_path / "pki")
    passwords = tmp_path / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(passwords), "nongan-main", SECRET], check=True, capture_output=True
    )
    subprocess.run(["mosquitto_passwd", "-b", str(passwords), "hub", "hub-pw"], check=True, capture_output=True)
    (tmp_path / "broker").mkdir()
    plain = Mosquitto(workdir=tmp_path / "broker")  # its port: a plain listener for the test's hub
    from sim.ports import free_port

    tls_port = free_port()
    plain.config_path.write_text(
        plain.config_path.read_text()
        + "user root\nper_listener_settings false\nallow_anonymous false\n"
        + f"password_file {passwords}\n"
        + f"listener {tls_port} 127.0.0.1\ncafile {pki.ca}\ncertfile {pki.server_cert}\nkeyfile {pki.server_key}\n"
        + "require_certificate true\n"
    )
    with plain as broker:
        yield broker, tls_port, pki


def test_tls_client_certificate_and_password(secured_broker, start_agent, tmp_path):
    broker, tls_port, pki = secured_broker
    hub = Hub(broker.port, username="hub", password="hub-pw")
    try:
        extra = (
            f'\n[broker.tls]\nca_file = "{pki.ca}"\ncert_file = "{pki.client_cert}"\nkey_file = "{pki.client_key}"\n'
        )
        agent = start_agent(
            f"mqtts://127.0.0.1:{tls_port}",
            username="nongan-main",
            password_env="VA_PW",
            env={"VA_PW": SECRET},
            extra=extra,
        )
        hub.wait_for(lambda m: m.topic == f"{BASE}/availability" and m.text == "online")
        hub.wait_for(lambda m: m.topic == f"{BASE}/events" and m.json()["code"] == "agent.started")
        assert agent.stop() == 0
        assert SECRET not in agent.log()
    finally:
        hub.close()


def test_wrong_password_is_reported_and_the_agent_keeps_running(secured_broker, start_agent):
    _broker, tls_port, pki = secured_broker
    extra = f'\n[broker.tls]\nca_file = "{pki.ca}"\ncert_file = "{pki.client_cert}"\nkey_file = "{pki.client_key}"\n'
    agent = start_agent(
        f"mqtts://127.0.0.1:{tls_port}",
        username="nongan-main",
        password_env="VA_PW",
        env={"VA_PW": "wrong-" + SECRET},
        extra=extra,
    )
    deadline = time.monotonic() + 15
    while "broker refused the connection" not in agent.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "broker refused the connection" in agent.log()
    assert agent.alive
    assert agent.stop() == 0
    assert SECRET not in agent.log()


def test_tls_without_client_certificate_is_refused_not_fatal(secured_broker, start_agent):
    _broker, tls_port, pki = secured_broker
    agent = start_agent(
        f"mqtts://127.0.0.1:{tls_port}",
        username="nongan-main",
        password_env="VA_PW",
        env={"VA_PW": SECRET},
        extra=f'\n[broker.tls]\nca_file = "{pki.ca}"\n',
    )
    deadline = time.monotonic() + 15
    while "certificate required" not in agent.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "certificate required" in agent.log()  # the TLS alert's reason reaches the log
    assert agent.alive
    assert agent.stop() == 0


def test_messages_the_broker_refuses_are_counted_and_reported(tmp_path, start_agent):
    """An ACL that lets the venue publish its status but not its events: mosquitto answers each
    event's PUBLISH with PUBACK 0x87 (not authorised). The agent counts them in the status, raises a
    throttled `outbox.rejected` (itself refused, so no loop), and keeps running."""
    acl = tmp_path / "acl"
    acl.write_text(
        "user hub\ntopic read vc/#\n\n"
        "pattern write vc/jilin/changchun/nongan/main/availability\n"
        "pattern write vc/jilin/changchun/nongan/main/status\n"
        "pattern read vc/jilin/changchun/nongan/main/cmd/#\n"
    )
    passwords = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "hub", "hub-pw"], check=True, capture_output=True)
    subprocess.run(["mosquitto_passwd", "-b", str(passwords), "nongan-main", SECRET], check=True, capture_output=True)
    (tmp_path / "broker").mkdir()
    extra = f"user root\nallow_anonymous false\npassword_file {passwords}\nacl_file {acl}\n"
    with Mosquitto(workdir=tmp_path / "broker", extra_config=extra) as broker:
        hub = Hub(broker.port, username="hub", password="hub-pw")
        try:
            agent = start_agent(
                broker.url, username="nongan-main", password_env="VA_PW", env={"VA_PW": SECRET}, status_interval_s=1
            )
            status = hub.wait_for(
                lambda m: m.topic == f"{BASE}/status" and m.json()["outbox"]["rejected_by_broker"] >= 2, timeout=20
            )[-1].json()
            assert status["outbox"]["pending"] == 0  # refused messages are not retried forever
            assert not [m for m in hub.messages if m.topic.endswith("/events")]
            time.sleep(2)
            assert agent.stop() == 0
            log = agent.log()
            assert "broker refused outbox message" in log and "outbox.rejected" in log
            assert log.count("event outbox.rejected") == 1, "one notice per minute at most"
        finally:
            hub.close()
