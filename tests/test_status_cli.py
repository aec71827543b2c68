"""`venue-agent status` reads the venue's retained messages back from a real broker."""

from __future__ import annotations

import json
import subprocess
import sys

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
