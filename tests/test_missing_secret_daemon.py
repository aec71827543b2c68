"""A device whose secret is missing at run time (issue #14: "every SNMP/SSH task then crash-loops
while config check said OK"): the daemon reports a finding naming the config field and logs it
once, and its task keeps running without restarts or tracebacks. The agent is the real process,
on a real mosquitto; the variables are simply absent from its environment, as they are when the
unit has no environment file."""

from __future__ import annotations

import os

from sim.ports import free_port
from tests.schema_check import assert_valid

BASE = "vc/jilin/changchun/nongan/main"
SNMP_VARIABLE = "VA_SURELY_UNSET_COMMUNITY"
SSH_VARIABLE = "VA_SURELY_UNSET_SSH_PASSWORD"


def test_a_missing_device_secret_is_a_finding_not_a_crash_loop(broker, hub, start_agent):
    assert SNMP_VARIABLE not in os.environ and SSH_VARIABLE not in os.environ
    nobody = free_port()  # nothing is ever sent: the secret is missing before any poll
    traps = free_port(kind=2)
    extra = f"""
[snmp]
interval_s = 1

[snmp.traps]
enabled = true
listen = "127.0.0.1"
port = {traps}

[[snmp.devices]]
name = "codec"
host = "127.0.0.1"
port = {nobody}
community_env = "{SNMP_VARIABLE}"

[ssh]
interval_s = 5

[[ssh.devices]]
name = "codec-ssh"
host = "127.0.0.1"
port = {nobody}
device_type = "cisco_tp"
username = "monitor"
password_env = "{SSH_VARIABLE}"
"""
    agent = start_agent(broker.url, flap_interval_s=3600, status_interval_s=1, extra=extra)

    def both_reported(message) -> bool:
        checks = message.json()["checks"] if message.topic == f"{BASE}/status" else {}
        return {"snmp.reachable@codec", "ssh.reachable@codec-ssh"} <= set(checks)

    first = hub.wait_for(both_reported, timeout=30)[-1].json()
    assert_valid("status", first)
    snmp = first["checks"]["snmp.reachable@codec"]
    ssh = first["checks"]["ssh.reachable@codec-ssh"]
    assert snmp["code"] == "snmp.reachable.config" and "misconfigured" in snmp["message"]["en"]
    assert (
        snmp["verdict"] == "fail"
        and f"snmp.devices[codec].community_env: environment variable {SNMP_VARIABLE}" in (snmp["message"]["en"])
    )
    assert ssh["verdict"] == "fail" and ssh["code"] == "ssh.reachable.config"
    assert (
        f"ssh.devices[codec-ssh].password_env: environment variable {SSH_VARIABLE} is not set" in (ssh["message"]["en"])
    )

    # Several SNMP periods later the tasks still run their first life: no backoff, no restart.
    so_far = len(hub.wait_for(both_reported, timeout=30))
    later = hub.wait_for(both_reported, timeout=60, count=so_far + 5)
    tasks = later[-1].json()["tasks"]
    for name in ("snmp:codec", "ssh:codec-ssh", "snmp:traps"):  # the receiver leaves that device out
        assert tasks[name]["state"] == "running" and tasks[name]["restarts"] == 0, tasks[name]
    assert agent.stop() == 0
    log = agent.log()
    assert "Traceback" not in log and "failed; restarting" not in log, log
    assert log.count("SNMP device codec is not polled until its secret is set") == 1, log
    assert "SNMP traps from codec are not accepted: snmp.devices[codec].community_env" in log, log
    assert log.count("SSH device codec-ssh is not read until its secret is set") == 1, log
